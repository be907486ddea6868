"""Every setting is checked at start-up, and a bad one stops it with an error naming it."""

import pytest

from tests.config.settings_probe import load_settings, settings_values


def _refused(variable: str, **env: str) -> str:
    loaded = load_settings("DEBUG", **env)
    assert loaded.returncode != 0, f"{variable}={env[variable]!r} was accepted"
    assert "ImproperlyConfigured" in loaded.stderr
    assert variable in loaded.stderr.strip().splitlines()[-1], loaded.stderr[-500:]
    return loaded.stderr


@pytest.mark.parametrize("value", ["ture", "2", "enabled", "nope"])
def test_a_boolean_that_is_not_one_is_refused(value: str) -> None:
    _refused("DJANGO_HTTPS", DJANGO_HTTPS=value)


@pytest.mark.parametrize(("value", "expected"), [("0", False), ("false", False), ("off", False), ("YES", True)])
def test_booleans_in_every_spelling(value: str, expected: bool) -> None:
    assert settings_values("DEBUG", DJANGO_DEBUG=value)["DEBUG"] is expected


def test_a_redirect_typo_no_longer_turns_it_off_quietly() -> None:
    _refused(
        "DJANGO_SECURE_SSL_REDIRECT", DJANGO_HTTPS="1", DJANGO_SECRET_KEY="k" * 50, DJANGO_SECURE_SSL_REDIRECT="ture"
    )


@pytest.mark.parametrize(
    "url", ["foo://db/karmafeed", "mysql://u@db/karmafeed", "postgres//missing-colon", "postgres://db-host"]
)
def test_a_database_url_that_cannot_serve_is_refused(url: str) -> None:
    _refused("DATABASE_URL", DATABASE_URL=url)


def test_a_sqlite_database_url_serves_like_the_embedded_default(tmp_path: object) -> None:
    databases = settings_values("DATABASES", DATABASE_URL=f"sqlite:///{tmp_path}/feed.sqlite3")["DATABASES"]
    options = databases["default"]["OPTIONS"]
    assert databases["default"]["NAME"] == f"{tmp_path}/feed.sqlite3"
    assert "connect_timeout" not in options and options["transaction_mode"] == "IMMEDIATE"


@pytest.mark.parametrize("rate", ["30/fortnight", "many/min", "30", "/min", "-1/min"])
def test_a_throttle_rate_that_is_not_one_is_refused(rate: str) -> None:
    _refused("KARMAFEED_THROTTLE_AUTH", KARMAFEED_THROTTLE_AUTH=rate)


@pytest.mark.parametrize(
    ("variable", "value"), [("DJANGO_HTTP_MAX_CONCURRENCY", "twelve"), ("REALTIME_FLUSH_INTERVAL", "0.1s")]
)
def test_a_number_that_is_not_one_is_refused(variable: str, value: str) -> None:
    _refused(variable, **{variable: value})


@pytest.mark.parametrize("value", ["0.1", "100ms", "-1", "5001"])
def test_a_coalescing_window_outside_its_range_is_refused(value: str) -> None:
    _refused("REALTIME_COALESCE_WINDOW_MS", REALTIME_COALESCE_WINDOW_MS=value)


def test_the_coalescing_window_is_read_in_milliseconds() -> None:
    # Positive control for the refusals above.
    realtime = settings_values("REALTIME", REALTIME_COALESCE_WINDOW_MS="250")["REALTIME"]
    assert realtime["COALESCE_WINDOW"] == 0.25


def test_a_shortest_window_above_the_longest_is_refused() -> None:
    _refused(
        "REALTIME_COALESCE_WINDOW_MIN_MS", REALTIME_COALESCE_WINDOW_MS="100", REALTIME_COALESCE_WINDOW_MIN_MS="150"
    )


def test_the_window_is_fixed_unless_a_shortest_is_set() -> None:
    # Positive control for the refusal above.
    fixed = settings_values("REALTIME", "REALTIME_COALESCE_WINDOW_MIN", REALTIME_COALESCE_WINDOW_MS="100")
    assert (fixed["REALTIME_COALESCE_WINDOW_MIN"], fixed["REALTIME"]["COALESCE_WINDOW"]) == (None, 0.1), "fixed"
    following = settings_values("REALTIME", "REALTIME_COALESCE_WINDOW_MIN", REALTIME_COALESCE_WINDOW_MIN_MS="50")
    assert (following["REALTIME_COALESCE_WINDOW_MIN"], following["REALTIME"]["COALESCE_WINDOW"]) == (0.05, 0.25)


def test_the_defaults_start() -> None:
    # Positive control: nothing set, nothing refused.
    assert settings_values("DEBUG")["DEBUG"] is False


def test_the_trusted_proxy_count_reaches_the_throttles() -> None:
    assert settings_values("REST_FRAMEWORK")["REST_FRAMEWORK"]["NUM_PROXIES"] == 0
    trusted = settings_values("REST_FRAMEWORK", KARMAFEED_TRUSTED_PROXIES="1")["REST_FRAMEWORK"]
    assert trusted["NUM_PROXIES"] == 1
    _refused("KARMAFEED_TRUSTED_PROXIES", KARMAFEED_TRUSTED_PROXIES="nginx")


def test_the_like_rate_is_checked() -> None:
    _refused("KARMAFEED_THROTTLE_LIKE", KARMAFEED_THROTTLE_LIKE="lots")


def test_the_like_road_is_checked() -> None:
    assert settings_values("LIKE_ROAD")["LIKE_ROAD"] == "lean"
    assert settings_values("LIKE_ROAD", KARMAFEED_LIKE_ROAD="django")["LIKE_ROAD"] == "django"
    _refused("KARMAFEED_LIKE_ROAD", KARMAFEED_LIKE_ROAD="fast")


def test_the_feed_road_is_checked() -> None:
    assert settings_values("FEED_ROAD")["FEED_ROAD"] == "loop"
    assert settings_values("FEED_ROAD", KARMAFEED_FEED_ROAD="django")["FEED_ROAD"] == "django"
    _refused("KARMAFEED_FEED_ROAD", KARMAFEED_FEED_ROAD="lean")


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_the_loop_pool_size_is_checked(value: str) -> None:
    _refused("DJANGO_DB_LOOP_POOL_MAX", DJANGO_DB_LOOP_POOL_MAX=value)


def test_the_loop_pool_size_is_read() -> None:
    assert settings_values("DB_LOOP_POOL_MAX", DJANGO_DB_LOOP_POOL_MAX="3")["DB_LOOP_POOL_MAX"] == 3
