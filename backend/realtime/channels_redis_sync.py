"""A blocking publish onto channels-redis's pub/sub layer, for processes without an event loop.

channels-redis sends only from a coroutine; `async_to_sync` would start an event loop (and a
thread hop) per publish. This sends the very bytes the layer's own `group_send` would, with
redis-py's blocking client, in one round trip. The layer's serializer is public; the Redis
channel a group maps to, and the shard it lives on, are private to channels-redis
(`_get_group_channel_name`, `_consistent_hash`): tests/realtime/test_channels_redis_sync.py
fails when an upgrade changes them.
"""

from typing import Any

import redis
import redis.sentinel
from channels_redis.pubsub import RedisPubSubChannelLayer
from channels_redis.utils import _consistent_hash, decode_hosts


def _client(host: dict[str, Any]) -> redis.Redis:
    """A blocking client for one shard, from the layer's host entry (as channels-redis builds its pool)."""
    host = dict(host)
    if "address" in host:
        return redis.Redis(connection_pool=redis.ConnectionPool.from_url(host.pop("address"), **host))
    master_name = host.pop("master_name", None)
    if master_name is not None:
        sentinel = redis.sentinel.Sentinel(host.pop("sentinels"), sentinel_kwargs=host.pop("sentinel_kwargs", None))
        return redis.Redis(connection_pool=redis.sentinel.SentinelConnectionPool(master_name, sentinel, **host))
    return redis.Redis(connection_pool=redis.ConnectionPool(**host))


class SyncGroupSender:
    """group_send without a loop: the layer's bytes, PUBLISHed on the group's channel and shard."""

    def __init__(self, layer: RedisPubSubChannelLayer) -> None:
        config = layer._kwargs
        self._layer = layer
        self._prefix = config.get("prefix", "asgi")
        self._shards = [_client(host) for host in decode_hosts(config.get("hosts"))]

    def channel_name(self, group: str) -> str:
        return f"{self._prefix}__group__{group}"

    def group_send(self, group: str, message: dict[str, Any]) -> None:
        channel = self.channel_name(group)
        shard = self._shards[_consistent_hash(channel, len(self._shards))]
        shard.publish(channel, self._layer.serialize(message))

    def close(self) -> None:
        for shard in self._shards:
            shard.close()
