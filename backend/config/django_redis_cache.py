"""Django's Redis cache with one redis-py client per connection pool, not one per call.

Django's RedisCacheClient builds a new `redis.Redis` for every cache call, and its
constructor fills a table of some 160 response callbacks: about three times the CPU of the
Redis round trip it then makes. A like reads the session and reads and writes its throttle
count, so it paid that three times. A `redis.Redis` is safe to share between threads (each
command borrows a connection from the pool), so each pool gets one, which lives as long as
the pool does (config.redis_pool keeps one pool per process).

`decode` reads the cache's value format for clients of its keys that are not the cache (the
roads on the event loop read sessions: feed.async_front); `redis_client` hands the cache's own
client to what the cache API cannot say (the throttle's script, core.throttle_redis).

This leans on RedisCacheClient's undocumented `get_client`, `_get_connection_pool` and
`_client`, on RedisCache setting `_class` in its constructor, and on the value format of RedisSerializer;
tests/config/test_django_redis_cache.py fails when Django changes them.
"""

import threading
from typing import Any

import redis
from django.core.cache.backends import redis as django_redis

_CLIENT_ATTRIBUTE = "_karmafeed_cache_client"
_clients_lock = threading.Lock()


class RedisCacheClient(django_redis.RedisCacheClient):
    def get_client(self, key: Any = None, *, write: bool = False) -> redis.Redis:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client: redis.Redis | None = getattr(pool, _CLIENT_ATTRIBUTE, None)
        if client is None:
            with _clients_lock:
                client = getattr(pool, _CLIENT_ATTRIBUTE, None) or self._client(connection_pool=pool)  # type: ignore[attr-defined]
                setattr(pool, _CLIENT_ATTRIBUTE, client)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient


# The cache's value format (Django's RedisSerializer: an int as is, anything else pickled), for
# code that reads the cache's keys with an asyncio client of its own (feed.async_front).
_SERIALIZER = django_redis.RedisSerializer()


def decode(raw: bytes) -> Any:
    return _SERIALIZER.loads(raw)


def redis_client(cache: Any) -> redis.Redis:
    """The redis-py client behind a RedisCache (one per pool), for what the cache API cannot say
    (the throttle's script, core.throttle_redis)."""
    return cache._cache.get_client(write=True)
