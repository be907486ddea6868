"""What KarmaFeed must know of channels-redis's pub/sub wire format, in one place.

Every worker's hub listens through `channels_redis.pubsub.RedisPubSubChannelLayer`. The
stream log (realtime/streams_redis.py) publishes from inside Redis, in the same script that
numbers the events, so it must write exactly what the layer's own `group_send` would have
written: the Redis channel of a group, the serializer (msgpack, no encryption, no random
prefix), and the shard that carries the group. The same host settings give the redis-py
clients the stream log uses, so a Sentinel or shard setting of the layer applies to both.

tests/realtime/test_channels_redis_wire.py publishes with this module and receives with the
layer's own `receive`: it fails if an upgrade of channels-redis changes any of it.
"""

from typing import Any

import redis
import redis.asyncio
import redis.asyncio.sentinel
import redis.sentinel
from channels_redis.utils import _consistent_hash, decode_hosts
from django.core.exceptions import ImproperlyConfigured

LAYER_BACKEND = "channels_redis.pubsub.RedisPubSubChannelLayer"
# The layer's default serializer is msgpack; Redis's Lua carries a msgpack encoder.
LUA_SERIALIZE = "cmsgpack.pack"


def is_redis_layer(layer_settings: dict[str, Any]) -> bool:
    return bool(layer_settings.get("BACKEND") == LAYER_BACKEND)


def layer_hosts_and_prefix(layer_settings: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The layer's hosts (decoded as the layer decodes them) and channel prefix."""
    config = layer_settings.get("CONFIG", {})
    if config.get("serializer_format", "msgpack") != "msgpack" or config.get("symmetric_encryption_keys"):
        raise ImproperlyConfigured(
            "The stream log publishes in the channel layer's plain msgpack format: "
            "CHANNEL_LAYERS must not set serializer_format or symmetric_encryption_keys."
        )
    return decode_hosts(config.get("hosts")), config.get("prefix", "asgi")


def group_channel(prefix: str, group: str) -> str:
    """The Redis pub/sub channel of a layer group (RedisPubSubLoopLayer._get_group_channel_name)."""
    return f"{prefix}__group__{group}"


def shard_host(hosts: list[dict[str, Any]], channel: str) -> dict[str, Any]:
    """The host the layer publishes `channel` on (RedisPubSubLoopLayer._get_shard)."""
    return hosts[_consistent_hash(channel, len(hosts))]


def sync_client(host: dict[str, Any]) -> redis.Redis:
    """A thread-safe redis-py client for a host entry, built as the layer builds its pool."""
    options = dict(host)
    if "address" in options:
        return redis.Redis.from_url(options.pop("address"), **options)
    if "master_name" in options:
        master = options.pop("master_name")
        sentinels = options.pop("sentinels")
        sentinel = redis.sentinel.Sentinel(sentinels, sentinel_kwargs=options.pop("sentinel_kwargs", None))
        return sentinel.master_for(master, **options)
    return redis.Redis(**options)


def async_client(host: dict[str, Any]) -> redis.asyncio.Redis:
    """The asyncio twin of sync_client, for one event loop."""
    options = dict(host)
    if "address" in options:
        return redis.asyncio.Redis.from_url(options.pop("address"), **options)
    if "master_name" in options:
        master = options.pop("master_name")
        sentinel = redis.asyncio.sentinel.Sentinel(
            options.pop("sentinels"), sentinel_kwargs=options.pop("sentinel_kwargs", None)
        )
        return sentinel.master_for(master, **options)
    return redis.asyncio.Redis(**options)
