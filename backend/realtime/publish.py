"""The one road from a committed write to the channel layer.

Services call `publish_after_commit(builder)` inside their transaction. After commit the
event is built (encoded and stamped once) and handed to this process's Publisher, a task
on the serving event loop that sends it to the channel layer off the request path: a slow
or dead Redis never delays or fails a write that already committed. Failures are caught, logged, counted and shown by
/api/health/; the next event (or a client's re-subscribe) heals what was lost, because
every event carries absolute values.

Every event goes through the stream log (realtime/streams.py), which numbers it, keeps it for
resumes and sends it to every worker's hub in one round trip. While Redis is unreachable the
publisher keeps what it could not send (bounded) and tries again.

Processes without a serving loop (WSGI workers, management commands) send inline, on the
log's synchronous road: one round trip from the request's thread, no event loop. A WSGI
worker also installs realtime.sync_runtime for its leaderboard refreshes.
"""

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from channels.layers import get_channel_layer
from django.db import transaction

from ops import metrics
from realtime import streams
from realtime.events import Event

logger = logging.getLogger(__name__)

# A publish that takes longer than this is abandoned and counted as failed.
SEND_TIMEOUT_SECONDS = 3.0


@dataclass
class PushHealth:
    """What /api/health/ reports about pushes from this process."""

    last_failure_at: float | None = None
    last_failure: str | None = None
    last_success_at: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record_success(self) -> None:
        with self._lock:
            self.last_success_at = time.time()

    def record_failure(self, error: BaseException) -> None:
        with self._lock:
            self.last_failure_at = time.time()
            self.last_failure = f"{type(error).__name__}: {error}"

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "last_failure_at": self.last_failure_at,
                "last_failure": self.last_failure,
                "last_success_at": self.last_success_at,
            }


push_health = PushHealth()


# One call of the stream log carries at most this many events (one Redis round trip).
MAX_EVENTS_PER_MESSAGE = 500
# Events kept for a retry while Redis is unreachable; beyond this the oldest are dropped
# (logged and counted): clients then find the hole by seq and resume or re-read.
MAX_RETAINED_EVENTS = 10_000
RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0, 4.0)


async def send_events(events: Sequence[Event]) -> bool:
    """Number events and send them to every worker's hub; True when the stream log took them."""
    started = time.perf_counter()
    try:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that lands as
        # the send completes, and the publisher task would then never stop.
        async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
            await streams.get_log().apublish(events)
    except Exception as exc:  # noqa: BLE001 - any failure here must stay out of the request
        _record_failure(exc, len(events))
        return False
    push_health.record_success()
    metrics.EVENTS_PUSHED.inc(len(events))
    metrics.PUSH_LATENCY.observe(time.perf_counter() - started)
    return True


def send_events_sync(events: Sequence[Event]) -> bool:
    """The same road for a process without an event loop (a WSGI worker, a command): one round trip."""
    started = time.perf_counter()
    try:
        streams.get_log().publish(events)
    except Exception as exc:  # noqa: BLE001 - the write committed; a failed push must not undo it
        _record_failure(exc, len(events))
        return False
    push_health.record_success()
    metrics.EVENTS_PUSHED.inc(len(events))
    metrics.PUSH_LATENCY.observe(time.perf_counter() - started)
    return True


def _record_failure(exc: BaseException, count: int) -> None:
    push_health.record_failure(exc)
    metrics.PUSH_FAILURES.inc(count)
    logger.warning("push failed", extra={"events": count, "error": repr(exc)})


async def send_event(event: Event) -> bool:
    return await send_events([event])


async def probe_channel_layer(timeout: float) -> str:
    """Send a throwaway message through the layer; the layer's class name when it answered."""
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS has no default layer"
    await asyncio.wait_for(layer.group_send("health", {"type": "health.probe"}), timeout)
    return type(layer).__name__


class Publisher:
    """Sends this process's events to the channel layer in commit order, from one task.

    Like-count events for the same object that queue up behind a slow send are coalesced
    here already: only the highest version needs to travel.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._pending: dict[object, Event] = {}
        self._wake = asyncio.Event()
        self._sequence = 0
        self.leaderboard_wanted = asyncio.Event()

    def submit(self, event: Event) -> None:
        """Queue an event; call on the publisher's loop."""
        self._queue(self._pending, event)
        self._wake.set()

    def _queue(self, pending: dict[object, Event], event: Event) -> None:
        if event.coalesce_key is None:
            self._sequence += 1
            pending[self._sequence] = event
        else:
            queued = pending.get(event.coalesce_key)
            if queued is None or queued.version < event.version:
                pending[event.coalesce_key] = event

    def _requeue(self, unsent: list[Event]) -> None:
        """Put events that could not be sent back in front of the newer ones, bounded."""
        dropped = len(unsent) + len(self._pending) - MAX_RETAINED_EVENTS
        if dropped > 0:
            unsent = unsent[dropped:] if dropped < len(unsent) else []
            metrics.PUSH_FAILURES.inc(max(dropped, 0))
            logger.error("push retry queue full; oldest events dropped", extra={"events": dropped})
        pending: dict[object, Event] = {}
        for event in [*unsent, *self._pending.values()]:
            self._queue(pending, event)
        self._pending = pending

    async def run(self) -> None:
        failures = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch = list(self._pending.values())
            self._pending = {}
            for start in range(0, len(batch), MAX_EVENTS_PER_MESSAGE):
                if not await send_events(batch[start : start + MAX_EVENTS_PER_MESSAGE]):
                    # Redis is unreachable: keep the rest, in order, and try again shortly.
                    self._requeue(batch[start:])
                    await asyncio.sleep(RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)])
                    failures += 1
                    self._wake.set()
                    break
            else:
                failures = 0

    def call_soon(self, callback: Callable[..., Any], *args: Any) -> None:
        """Run callback on the publisher's loop, from whichever thread we are on."""
        if _on_loop_thread(self.loop):
            callback(*args)
        else:
            self.loop.call_soon_threadsafe(callback, *args)


class SyncRoad(Protocol):
    def request_leaderboard_refresh(self) -> None: ...


_serving: Publisher | None = None
_sync_road: SyncRoad | None = None


def install(publisher: Publisher | None) -> None:
    """Make `publisher` the one this process hands committed events to (None: send inline)."""
    global _serving
    _serving = publisher


def install_sync(road: SyncRoad | None) -> None:
    """The road of a process without a serving loop (realtime.sync_runtime), used when no publisher runs."""
    global _sync_road
    _sync_road = road


def _live_publisher() -> Publisher | None:
    publisher = _serving
    if publisher is None or publisher.loop.is_closed() or not publisher.loop.is_running():
        return None
    return publisher


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def publish_now(event: Event) -> None:
    publisher = _live_publisher()
    if publisher is not None:
        publisher.call_soon(publisher.submit, event)
        return
    send_events_sync([event])


def publish_after_commit(build: Callable[[], Event]) -> None:
    """Build the event once the current transaction commits and send it; nothing on rollback.

    Built after commit, not before: its `ts` then marks the commit, so a client's measure of
    delivery delay starts where the write became true.
    """
    transaction.on_commit(lambda: publish_now(build()), robust=True)


def request_leaderboard_refresh() -> None:
    """Ask this process's leaderboard ticker to recompute soon (coalesced, at most 1/s)."""
    publisher = _live_publisher()
    if publisher is not None:
        publisher.call_soon(publisher.leaderboard_wanted.set)
    elif _sync_road is not None:
        _sync_road.request_leaderboard_refresh()


def request_leaderboard_refresh_after_commit() -> None:
    transaction.on_commit(request_leaderboard_refresh, robust=True)
