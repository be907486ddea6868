"""REDIS_URL (one server or several shards) and REDIS_SENTINELS, read and checked at start-up."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.redis_servers import RedisServers, from_environment
from tests.config.settings_probe import load_settings, settings_values


def test_no_redis_named_is_the_embedded_default() -> None:
    assert from_environment({}) is None
    assert from_environment({"REDIS_URL": " "}) is None


def test_one_url_is_one_layer_host_and_the_cache() -> None:
    servers = from_environment({"REDIS_URL": "redis://127.0.0.1:6379/2"})
    assert servers == RedisServers(urls=("redis://127.0.0.1:6379/2",))
    assert servers.layer_hosts(socket_timeout=1.0) == [{"address": "redis://127.0.0.1:6379/2", "socket_timeout": 1.0}]
    assert servers.cache_location() == "redis://127.0.0.1:6379/2"
    assert servers.cache_options() == {}


def test_several_urls_shard_the_layer_and_the_cache_uses_the_first() -> None:
    servers = from_environment({"REDIS_URL": "redis://127.0.0.1:7001/0, redis://127.0.0.1:7002/0"})
    assert servers is not None
    assert [host["address"] for host in servers.layer_hosts()] == [
        "redis://127.0.0.1:7001/0",
        "redis://127.0.0.1:7002/0",
    ]
    assert servers.cache_location() == "redis://127.0.0.1:7001/0"


def test_sentinels_name_the_primary_for_the_layer_and_the_cache() -> None:
    servers = from_environment(
        {"REDIS_SENTINELS": "10.0.0.1:26379,10.0.0.2:26379", "REDIS_SENTINEL_MASTER": "feed", "REDIS_SENTINEL_DB": "3"}
    )
    assert servers is not None
    (host,) = servers.layer_hosts(socket_timeout=1.0, max_connections=50)
    assert host == {
        "master_name": "feed",
        "sentinels": [("10.0.0.1", 26379), ("10.0.0.2", 26379)],
        "sentinel_kwargs": {"socket_timeout": 1.0},
        "db": 3,
        "socket_timeout": 1.0,
        "max_connections": 50,
    }
    assert servers.cache_options() == {
        "sentinels": [("10.0.0.1", 26379), ("10.0.0.2", 26379)],
        "sentinel_master": "feed",
        "db": 3,
    }


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"REDIS_URL": "127.0.0.1:6379"}, "REDIS_URL"),
        ({"REDIS_URL": "redis://a:1/0,redis://a:1/0"}, "REDIS_URL"),
        ({"REDIS_URL": "redis://a:1/0", "REDIS_SENTINELS": "a:26379", "REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS"),
        ({"REDIS_SENTINELS": "a:26379"}, "REDIS_SENTINEL_MASTER"),
        ({"REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS"),
        ({"REDIS_SENTINELS": "a", "REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS"),
        ({"REDIS_SENTINELS": "a:99999", "REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS"),
        ({"REDIS_SENTINELS": "a:1", "REDIS_SENTINEL_MASTER": "m", "REDIS_SENTINEL_DB": "x"}, "REDIS_SENTINEL_DB"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=named):
        from_environment(environ)


def test_the_settings_refuse_to_start_on_a_bad_sentinel_list() -> None:
    started = load_settings("CHANNEL_LAYERS", REDIS_SENTINELS="10.0.0.1", REDIS_SENTINEL_MASTER="feed")
    assert started.returncode != 0
    assert "REDIS_SENTINELS must be host:port entries" in started.stderr


def test_the_settings_build_the_layer_and_the_cache_from_sentinels() -> None:
    loaded = settings_values(
        "CHANNEL_LAYERS", "CACHES", "SESSION_ENGINE", REDIS_SENTINELS="10.0.0.1:26379", REDIS_SENTINEL_MASTER="feed"
    )
    (host,) = loaded["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"]
    assert (host["master_name"], host["sentinels"]) == ("feed", [["10.0.0.1", 26379]])
    assert loaded["CACHES"]["default"]["LOCATION"] == "redis-sentinel://feed/0"
    assert loaded["CACHES"]["default"]["OPTIONS"]["sentinel_master"] == "feed"
    assert loaded["SESSION_ENGINE"] == "accounts.sessions.cached_db"
