"""The cache shares one redis-py client per pool; fails when Django's Redis backend changes under it."""

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends import redis as django_redis

from config import django_redis_cache
from testing.plugin import redis_servers


def test_django_still_has_the_hooks_the_backend_replaces() -> None:
    client = django_redis.RedisCacheClient(["redis://127.0.0.1:6379/0"])
    assert callable(client.get_client) and callable(client._get_connection_pool)  # type: ignore[attr-defined]
    assert client._client is not None  # type: ignore[attr-defined]
    backend = django_redis_cache.RedisCache("redis://127.0.0.1:6379/0", {})
    assert isinstance(backend._cache, django_redis_cache.RedisCacheClient)  # type: ignore[attr-defined]


def test_stock_django_builds_a_client_per_call_and_ours_one_per_pool() -> None:
    stock = django_redis.RedisCacheClient(["redis://127.0.0.1:6379/0"])
    assert stock.get_client() is not stock.get_client()  # the cost this backend removes
    ours = django_redis_cache.RedisCacheClient(["redis://127.0.0.1:6379/0"])
    assert ours.get_client() is ours.get_client()
    assert ours.get_client().connection_pool is ours._get_connection_pool(False)  # type: ignore[attr-defined]


@pytest.mark.needs_services
def test_the_cache_reads_and_writes_through_the_shared_client() -> None:
    cache = caches["default"]
    assert isinstance(cache, django_redis_cache.RedisCache)
    cache.set("shared-client-probe", {"n": 1}, 30)
    assert cache.get("shared-client-probe") == {"n": 1}
    cache.delete("shared-client-probe")
    assert cache.get("shared-client-probe") is None


@pytest.mark.needs_services
def test_values_written_by_the_cache_read_the_same_through_another_client() -> None:
    cache = caches["default"]
    raw = redis.Redis.from_url(redis_servers().urls[0])
    cache.set("format-probe", [1.5, 2.25], 30)
    assert django_redis_cache.decode(bytes_at(raw, cache.make_key("format-probe"))) == [1.5, 2.25]
    cache.set("format-probe", {"_auth_user_id": "7"}, 30)
    assert django_redis_cache.decode(bytes_at(raw, cache.make_key("format-probe"))) == {"_auth_user_id": "7"}
    # Integers are stored as they are (so INCR works), and read back as integers both ways.
    cache.set("format-probe", 41, 30)
    assert django_redis_cache.decode(bytes_at(raw, cache.make_key("format-probe"))) == 41
    cache.delete("format-probe")


def bytes_at(client: redis.Redis, key: str) -> bytes:
    value = client.get(key)
    assert isinstance(value, bytes)
    return value
