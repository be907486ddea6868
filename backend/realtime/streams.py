"""Streams: every broadcast event numbered where all publishers meet, and kept for resumes.

A stream is a contract group (`feed`, `leaderboard`, `post.<id>`). Its log numbers each event
one above the stream's previous one, whichever worker published it, writes `"stream"` and
`"seq"` into the event's encoded text, keeps the last events in a capped backlog, and sends
them to every worker's hub (one `events.HubMessage` per call). A like count whose version is
not above the newest one already numbered for that object is dropped there: a stale count is
never numbered nor delivered.
The log's `epoch` names the life of the numbers: it changes exactly when the log lost them.
Where all publishers meet, it also carries the socket workers' delivery round time to the
publishers, whose coalescing window follows it (realtime/window.py).

Two logs behind one interface: `RedisStreamLog` (realtime/streams_redis.py, one Lua script
per call, for workers sharing Redis) and `MemoryStreamLog` (realtime/streams_memory.py, the
embedded default: one process). tests/realtime/test_streams.py runs against both.
"""

import logging
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.core.signals import setting_changed

from realtime.events import FEED_GROUP, LEADERBOARD_GROUP, POST_GROUP_PREFIX, Event

logger = logging.getLogger(__name__)

_WELL_FORMED = re.compile(r"[A-Za-z0-9_.:-]{1,100}\Z")
_POST_STREAM = re.compile(r"post\.[1-9][0-9]{0,18}\Z")


def is_well_formed(name: object) -> bool:
    """A string that could name a stream (the contract's resume accepts these)."""
    return isinstance(name, str) and _WELL_FORMED.match(name) is not None


def is_known(name: str) -> bool:
    """A stream this server has: feed, leaderboard, or post.<id> (a post never written to is at 0)."""
    return name in (FEED_GROUP, LEADERBOARD_GROUP) or (
        name.startswith(POST_GROUP_PREFIX) and _POST_STREAM.match(name) is not None
    )


@dataclass(frozen=True, slots=True)
class Positions:
    epoch: str
    seqs: dict[str, int]


@dataclass(frozen=True, slots=True)
class Backlog:
    """What a log can replay after some positions."""

    epoch: str
    # The current seq of every stream asked about.
    seqs: dict[str, int]
    # For each stream it could serve: its events after the position, oldest first, as (seq, text).
    recovered: dict[str, list[tuple[int, str]]]
    # Streams whose position is ahead of the stream, or whose missed events left the backlog.
    lost: list[str]


class StreamLog(Protocol):
    def publish(self, events: Sequence[Event]) -> int:
        """Number, store and send events (one round trip, no event loop); how many were sent."""

    async def apublish(self, events: Sequence[Event]) -> int:
        """The same road from an event loop."""

    def positions(self, streams: Iterable[str]) -> Positions:
        """The epoch and each stream's current seq (0 for a stream that never had an event)."""

    async def apositions(self, streams: Iterable[str]) -> Positions: ...

    def seq(self, stream: str) -> int:
        """One stream's current seq, without the epoch: what a REST answer carries, in one
        plain read (no script)."""

    async def aseq(self, stream: str) -> int: ...

    async def aread_since(self, positions: Mapping[str, int]) -> Backlog:
        """The events after each position, if the backlog still holds all of them."""

    async def areport_round(self, seconds: float) -> None:
        """A socket worker's longest recent delivery round, for the publishers' window
        (realtime/window.py); it counts for ROUND_REPORT_TTL_SECONDS."""

    def round_time(self) -> float | None:
        """The longest round any socket worker reported within ROUND_REPORT_TTL_SECONDS
        (None: none did), in one plain read."""

    async def around_time(self) -> float | None: ...

    async def aclose(self) -> None:
        """Release this event loop's connections."""


_log: StreamLog | None = None
_log_lock = threading.Lock()


def get_log() -> StreamLog:
    """This process's stream log, chosen by the channel layer in settings."""
    global _log
    log = _log
    if log is not None:
        return log
    with _log_lock:
        if _log is None:
            _log = _build_log()
        return _log


def _build_log() -> StreamLog:
    from realtime import channels_redis_wire

    layer_settings = settings.CHANNEL_LAYERS["default"]
    backlog = int(settings.REALTIME["STREAM_BACKLOG"])
    idle_expiry = int(settings.REALTIME["STREAM_IDLE_EXPIRY"])
    if channels_redis_wire.is_redis_layer(layer_settings):
        from realtime.streams_redis import RedisStreamLog

        return RedisStreamLog.from_layer_settings(layer_settings, backlog=backlog, idle_expiry=idle_expiry)
    from realtime.streams_memory import MemoryStreamLog

    return MemoryStreamLog(backlog=backlog, idle_expiry=idle_expiry)


def _forget_log(*, setting: str, **kwargs: Any) -> None:
    global _log
    if setting in ("CHANNEL_LAYERS", "REALTIME"):
        _log = None


setting_changed.connect(_forget_log)


def position(stream: str) -> int | None:
    """The stream's current seq, for REST answers: read it before the rows it goes with.

    None when the log cannot be reached (Redis down): the client then has no position to
    resume from and reads afresh once its socket is back.
    """
    try:
        return get_log().seq(stream)
    except Exception:  # noqa: BLE001 - a read answer must not fail because Redis is down
        logger.warning("stream position unavailable", extra={"stream": stream}, exc_info=True)
        return None


async def aposition(stream: str) -> int | None:
    """`position` on an event loop."""
    try:
        return await get_log().aseq(stream)
    except Exception:  # noqa: BLE001 - a read answer must not fail because Redis is down
        logger.warning("stream position unavailable", extra={"stream": stream}, exc_info=True)
        return None
