"""Two deployments on one Redis server never share a key or a pub/sub channel."""

from tests.config.settings_probe import settings_values


def _prefixes(**env: str) -> tuple[str, str]:
    values = settings_values("CHANNEL_LAYERS", "CACHES", **env)
    return values["CHANNEL_LAYERS"]["default"]["CONFIG"]["prefix"], values["CACHES"]["default"]["KEY_PREFIX"]


def test_the_prefix_differs_with_the_database_number() -> None:
    layer_14, cache_14 = _prefixes(REDIS_URL="redis://127.0.0.1:6379/14")
    layer_15, cache_15 = _prefixes(REDIS_URL="redis://127.0.0.1:6379/15")
    assert layer_14 != layer_15
    # Every Redis key of a deployment lives under the one prefix.
    assert (cache_14, cache_15) == (layer_14, layer_15)


def test_the_prefix_differs_with_the_server_and_is_stable() -> None:
    first = _prefixes(REDIS_URL="redis://127.0.0.1:6379/0")
    assert first == _prefixes(REDIS_URL="redis://127.0.0.1:6379/0")
    assert first != _prefixes(REDIS_URL="redis://127.0.0.1:6380/0")
    assert first[0].startswith("karmafeed-")


def test_an_explicit_prefix_wins() -> None:
    assert _prefixes(REDIS_URL="redis://127.0.0.1:6379/3", REDIS_CHANNEL_PREFIX="shop-a") == ("shop-a", "shop-a")
