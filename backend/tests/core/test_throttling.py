"""The scoped throttle, one module run against both of its logs.

With Redis the log is a sorted set kept by one script (core.throttle_redis); without it
(forced here by REDIS_SERVERS=None, and the embedded default) DRF's list in the cache. Both
allow the rate, refuse beyond it with a wait, forget requests that left the window, count
each client apart, and let requests through while the store behind them is down.
"""

import asyncio
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import caches
from django.test import override_settings
from rest_framework import throttling
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from core import throttle_redis
from core import throttling as our_throttling
from core.throttling import ScopedRateThrottle
from tests.faults.servers import free_port

REDIS_LOG = ["redis"] if settings.REDIS_SERVERS is not None else []
LOGS = ["cache", *REDIS_LOG]


class LikeView(APIView):
    throttle_scope = "like"


@pytest.fixture(params=LOGS)
def log(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "cache":
        with override_settings(REDIS_SERVERS=None):
            yield "cache"
    else:
        yield "redis"


@pytest.fixture(autouse=True)
def three_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    # DRF reads the rates once, into the class: set them there.
    monkeypatch.setattr(throttling.ScopedRateThrottle, "THROTTLE_RATES", {"like": "3/min"})


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(ScopedRateThrottle, "timer", clock)
    return clock


_client_number = iter(range(1, 1_000_000))


def new_client() -> str:
    """An address no earlier request came from (the logs outlive a test)."""
    n = next(_client_number)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def ask(address: str) -> tuple[bool, float | None]:
    request = APIRequestFactory().post("/api/posts/1/like/", REMOTE_ADDR=address)
    request.user = AnonymousUser()
    throttle = ScopedRateThrottle()
    allowed = throttle.allow_request(request, LikeView())
    return allowed, None if allowed else throttle.wait()


def test_the_rate_is_allowed_and_the_next_request_waits(log: str, clock: Clock) -> None:
    client = new_client()
    assert [ask(client)[0] for _ in range(3)] == [True, True, True]
    clock.now += 20
    allowed, wait = ask(client)
    assert allowed is False
    # The first request leaves the minute 40 seconds from now.
    assert wait is not None and 39 <= wait <= 41


def test_requests_that_left_the_window_no_longer_count(log: str, clock: Clock) -> None:
    client = new_client()
    for _ in range(3):
        assert ask(client)[0]
    assert not ask(client)[0]
    clock.now += 61
    assert ask(client)[0]


def test_each_client_is_counted_apart(log: str, clock: Clock) -> None:
    first, second = new_client(), new_client()
    for _ in range(3):
        assert ask(first)[0]
    assert not ask(first)[0]
    assert ask(second)[0]


def dead_cache() -> dict[str, object]:
    return {
        "default": {
            "BACKEND": "config.django_redis_cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }


def test_the_stock_throttle_fails_where_ours_lets_the_request_through() -> None:
    request = APIRequestFactory().post("/api/posts/1/like/")
    request.user = AnonymousUser()
    with override_settings(CACHES=dead_cache(), REDIS_SERVERS=None):
        stock = throttling.ScopedRateThrottle()
        stock.cache = caches["default"]  # DRF binds the cache when the class is defined
        with pytest.raises(redis.ConnectionError):
            stock.allow_request(request, LikeView())
        ours = ScopedRateThrottle()
        ours.cache = caches["default"]
        assert ours.allow_request(request, LikeView()) is True


@pytest.mark.needs_services
@pytest.mark.parametrize("log", ["redis"])
def test_a_redis_log_that_does_not_answer_lets_the_request_through(log: str, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = redis.Redis(port=free_port(), socket_connect_timeout=0.5, socket_timeout=0.5)
    monkeypatch.setattr(our_throttling, "redis_log", lambda: throttle_redis.Log(dead))
    client = new_client()
    # Beyond three a minute, and let through: the log is down (the tests above show the refusal).
    assert [ask(client)[0] for _ in range(5)] == [True] * 5


@pytest.mark.needs_services
@pytest.mark.parametrize("log", ["redis"])
def test_the_script_reads_a_session_and_counts_only_while_it_exists(log: str) -> None:
    async def scenario() -> list[throttle_redis.Verdict]:
        client = redis.asyncio.Redis.from_url(settings.REDIS_SERVERS.urls[0])  # type: ignore[union-attr]
        redis_log = throttle_redis.AsyncLog(client)
        session_key, key = f"test-session-{new_client()}", f"test-throttle-{new_client()}"
        try:
            verdicts = [await redis_log.record(key, now=1.0, duration=60, allowed=3, session_key=session_key)]
            await client.set(session_key, b"session", ex=30)
            verdicts.append(await redis_log.record(key, now=2.0, duration=60, allowed=3, session_key=session_key))
            verdicts.append(await redis_log.record(key, now=3.0, duration=60, allowed=3))
            return verdicts
        finally:
            await client.delete(session_key, throttle_redis.log_key(key))
            await client.aclose()

    missing, present, without_session = asyncio.run(scenario())
    assert missing.session_missing and not missing.allowed
    assert present.allowed and present.session == b"session"
    # Only the two requests with a session present were counted: a third place is left.
    assert without_session.allowed and without_session.session is None
