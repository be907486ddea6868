"""DRF's scoped throttle with its log in Redis: one script, one round trip, no list to copy.

DRF's SimpleRateThrottle keeps each client's recent request times as a list in the cache: a
read, a write, and the whole list pickled both ways on every request, so a user liking at the
allowed rate (300 a minute) had 300 timestamps copied twice per like. Here the log is a
sorted set in Redis (scored by request time, in milliseconds) and one Lua script drops the
times outside the window, counts, and records the request if there is room: the same sliding
window, O(log n) in Redis and constant work in the worker.

The script can also read a session from the cache in the same round trip, and then counts
the request only if the session exists: the like road on the event loop (feed.async_likes)
checks a user's session and throttle in one call. `core.throttling.ScopedRateThrottle` uses
this module whenever the deployment has Redis; tests/core/test_throttling.py runs against
both kinds of log.
"""

import secrets
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio

# KEYS[1]: the log; KEYS[2], if given: a session that must exist (its value is returned).
# ARGV: now (ms), the window (ms), requests allowed in it, a member unique to this request.
# Returns {allowed (1, 0, or -1 when the session is missing), ms until a place frees, session}.
LOG_SCRIPT = """
local session = false
if #KEYS == 2 then
    session = redis.call('GET', KEYS[2])
    if not session then
        return {-1, 0, false}
    end
end
local now, window, allowed = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= allowed then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {0, tonumber(oldest[2]) + window - now, session}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0, session}
"""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    # Seconds until the log has room again (0 when allowed).
    wait: float
    # The session's raw cache value, when one was asked for and exists.
    session: bytes | None = None
    session_missing: bool = False


def log_key(cache_key: str) -> str:
    """Where a throttle's log lives: beside DRF's key for the same client, never on it."""
    return f"{cache_key}:log"


def _args(now: float, duration: int, allowed: int) -> list[Any]:
    return [int(now * 1000), duration * 1000, allowed, secrets.token_hex(8)]


def _verdict(reply: list[Any]) -> Verdict:
    allowed, wait_ms, session = reply
    if allowed == -1:
        return Verdict(False, 0.0, session_missing=True)
    return Verdict(allowed == 1, max(0, int(wait_ms)) / 1000, session or None)


class Log:
    """The script on one synchronous client (the cache's), for the WSGI and Django roads."""

    def __init__(self, client: redis.Redis) -> None:
        self._script = client.register_script(LOG_SCRIPT)

    def record(self, key: str, *, now: float, duration: int, allowed: int) -> Verdict:
        return _verdict(self._script(keys=[log_key(key)], args=_args(now, duration, allowed)))


class AsyncLog:
    """The script on an asyncio client, for the like road on the event loop."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._script = client.register_script(LOG_SCRIPT)

    async def record(
        self, key: str, *, now: float, duration: int, allowed: int, session_key: str | None = None
    ) -> Verdict:
        keys = [log_key(key)] if session_key is None else [log_key(key), session_key]
        return _verdict(await self._script(keys=keys, args=_args(now, duration, allowed)))
