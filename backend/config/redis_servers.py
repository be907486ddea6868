"""Where KarmaFeed's Redis is, read from the environment: one server, several shards for the
channel layer, or a primary found through Redis Sentinel.

    REDIS_URL               redis://host:port/db; several, comma-separated, shard the channel
                            layer's pub/sub channels (the sessions cache uses the first)
    REDIS_SENTINELS         host:port,host:port,...: ask these sentinels for the primary
                            instead (and again after a failover)
    REDIS_SENTINEL_MASTER   the name the sentinels know the primary by (with REDIS_SENTINELS)
    REDIS_SENTINEL_DB       the database number on the primary (default 0)

Set REDIS_URL or REDIS_SENTINELS, not both; neither means the embedded in-memory layer.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    import redis.asyncio

URL_SCHEMES = ("redis", "rediss", "unix")
# For the asyncio clients: a dead Redis fails a call in seconds instead of hanging it.
ASYNC_TIMEOUTS: dict[str, Any] = {"socket_timeout": 5.0, "socket_connect_timeout": 2.0}


@dataclass(frozen=True)
class RedisServers:
    urls: tuple[str, ...] = ()
    sentinels: tuple[tuple[str, int], ...] = ()
    sentinel_master: str = ""
    sentinel_db: int = 0

    def layer_hosts(self, **connection: Any) -> list[dict[str, Any]]:
        """channels-redis `hosts`: one entry per shard, or the Sentinel-watched primary."""
        if self.sentinels:
            timeouts = {k: v for k, v in connection.items() if k in ("socket_connect_timeout", "socket_timeout")}
            return [
                {
                    "master_name": self.sentinel_master,
                    "sentinels": list(self.sentinels),
                    "sentinel_kwargs": timeouts,
                    "db": self.sentinel_db,
                    **connection,
                }
            ]
        return [{"address": url, **connection} for url in self.urls]

    def cache_location(self) -> str:
        """The sessions cache's LOCATION: the first shard, or a name for the Sentinel primary."""
        if self.sentinels:
            return f"redis-sentinel://{self.sentinel_master}/{self.sentinel_db}"
        return self.urls[0]

    def async_client(self) -> "redis.asyncio.Redis":
        """An asyncio client of the sessions cache's Redis: the Sentinel-watched primary, or the
        first server when the channel layer is sharded (presence and the like road use it)."""
        import redis.asyncio.sentinel

        if self.sentinels:
            sentinel = redis.asyncio.sentinel.Sentinel(
                list(self.sentinels), sentinel_kwargs=ASYNC_TIMEOUTS, **ASYNC_TIMEOUTS
            )
            return sentinel.master_for(self.sentinel_master, db=self.sentinel_db)
        return redis.asyncio.Redis.from_url(self.urls[0], **ASYNC_TIMEOUTS)

    def cache_options(self) -> dict[str, Any]:
        """Options the cache's pool class (config.redis_pool) needs to find the primary."""
        if self.sentinels:
            return {"sentinels": list(self.sentinels), "sentinel_master": self.sentinel_master, "db": self.sentinel_db}
        return {}


def from_environment(environ: Mapping[str, str]) -> RedisServers | None:
    """The Redis servers the environment names, or None for none; a bad value names its variable."""
    urls = tuple(part.strip() for part in environ.get("REDIS_URL", "").split(",") if part.strip())
    sentinels_raw = environ.get("REDIS_SENTINELS", "").strip()
    master = environ.get("REDIS_SENTINEL_MASTER", "").strip()
    if urls and sentinels_raw:
        raise ImproperlyConfigured("set REDIS_URL or REDIS_SENTINELS, not both")
    for url in urls:
        if urlsplit(url).scheme not in URL_SCHEMES:
            raise ImproperlyConfigured(f"REDIS_URL must be redis://, rediss:// or unix:// URLs, got {url!r}")
    if len(set(urls)) != len(urls):
        raise ImproperlyConfigured(f"REDIS_URL names the same server twice: {environ['REDIS_URL']!r}")
    if not sentinels_raw:
        if master:
            raise ImproperlyConfigured("REDIS_SENTINEL_MASTER is set but REDIS_SENTINELS is not")
        return RedisServers(urls=urls) if urls else None
    if not master:
        raise ImproperlyConfigured("REDIS_SENTINEL_MASTER must name the primary when REDIS_SENTINELS is set")
    sentinels = []
    for part in (p.strip() for p in sentinels_raw.split(",") if p.strip()):
        host, _, port = part.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65_536:
            raise ImproperlyConfigured(f"REDIS_SENTINELS must be host:port entries, got {part!r}")
        sentinels.append((host.strip("[]"), int(port)))
    db_raw = environ.get("REDIS_SENTINEL_DB", "").strip() or "0"
    if not db_raw.isdigit():
        raise ImproperlyConfigured(f"REDIS_SENTINEL_DB must be a database number, got {db_raw!r}")
    return RedisServers(sentinels=tuple(sentinels), sentinel_master=master, sentinel_db=int(db_raw))


def default_prefix(environ: Mapping[str, str]) -> str:
    """`karmafeed-` and a digest of the servers and the database number (never the password)."""
    parts = []
    for url in (part.strip() for part in environ.get("REDIS_URL", "").split(",") if part.strip()):
        split = urlsplit(url)
        parts.append(f"{split.hostname}:{split.port or 6379}{split.path.rstrip('/') or '/0'}")
    if environ.get("REDIS_SENTINELS", "").strip():
        master = environ.get("REDIS_SENTINEL_MASTER", "").strip()
        parts.append(f"sentinel:{master}/{environ.get('REDIS_SENTINEL_DB', '').strip() or '0'}")
    digest = hashlib.sha256(",".join(parts).encode()).hexdigest()[:12]
    return f"karmafeed-{digest}"
