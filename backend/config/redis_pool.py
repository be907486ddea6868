"""The Redis connection pool behind the cache (sessions), one per process."""

import threading
from typing import Any, ClassVar

import redis
import redis.sentinel


class ProcessRedisPool(redis.ConnectionPool):
    """One Redis connection pool per process for the cache, shared by every request.

    Django keeps a cache object per request context, and under ASGI every request is a new
    context: with redis-py's own pool class each request opened a Redis connection of its
    own to read its session, and dropped it.
    """

    _by_url: ClassVar[dict[str, redis.ConnectionPool]] = {}
    _by_url_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def from_url(  # type: ignore[override]
        cls,
        url: str,
        *,
        sentinels: list[tuple[str, int]] | None = None,
        sentinel_master: str = "",
        **kwargs: Any,
    ) -> redis.ConnectionPool:
        """The process's pool for `url`; with `sentinels`, one that asks them for the primary
        on every new connection, so it follows a failover (config.redis_servers)."""
        with cls._by_url_lock:
            pool = cls._by_url.get(url)
            if pool is None:
                if sentinels:
                    timeouts = {k: v for k, v in kwargs.items() if k in ("socket_connect_timeout", "socket_timeout")}
                    manager = redis.sentinel.Sentinel(sentinels, sentinel_kwargs=timeouts)
                    pool = redis.sentinel.SentinelConnectionPool(sentinel_master, manager, **kwargs)
                else:
                    pool = redis.ConnectionPool.from_url(url, **kwargs)
                cls._by_url[url] = pool
            return pool
