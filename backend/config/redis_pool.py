"""The Redis connection pool behind the cache (sessions), one per process."""

import threading
from typing import Any, ClassVar

import redis


class ProcessRedisPool(redis.ConnectionPool):
    """One Redis connection pool per process for the cache, shared by every request.

    Django keeps a cache object per request context, and under ASGI every request is a new
    context: with redis-py's own pool class each request opened a Redis connection of its
    own to read its session, and dropped it.
    """

    _by_url: ClassVar[dict[str, redis.ConnectionPool]] = {}
    _by_url_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> redis.ConnectionPool:  # type: ignore[override]
        with cls._by_url_lock:
            pool = cls._by_url.get(url)
            if pool is None:
                pool = cls._by_url[url] = redis.ConnectionPool.from_url(url, **kwargs)
            return pool
