"""The one road from a committed write to the stream log.

Services call `publish_after_commit(builder)` inside their transaction. After commit the
event is built (encoded and stamped once) and handed to this process's publisher, which sends
it to the stream log off the request path: a slow or dead Redis never delays or fails a write
that already committed. Failures are caught, logged, counted and shown by /api/health/; the
publisher keeps what it could not send (bounded) and tries again.

Every event goes through the stream log (realtime/streams.py), which numbers it, keeps it for
resumes and sends it to every worker's hub in one round trip. Before that, both publishers
keep their events in one coalescing queue (realtime/coalescing.py): a like count goes at once
unless a count of its object left within the last REALTIME_COALESCE_WINDOW_MS, and then waits
for that window's end, so that a burst of likes on one object takes a `seq` per window, not one
per like. The window may follow the socket workers' delivery rounds (realtime/window.py):
each publisher reads their round time from the stream log at most once a second, off the
request path, before a send.

Two publishers, one per kind of process, found through the process's runtime (the only
registry, realtime/runtime.py): `Publisher`, a task on a serving event loop (the socket
workers), and `ThreadPublisher`, one thread of a process without an event loop (the WSGI
workers serving the REST API, realtime/sync_runtime.py). A process with neither (a management
command, a plain test) sends inline, one round trip from the committing thread.
"""

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction

from ops import metrics
from realtime import streams
from realtime.coalescing import CoalescingQueue
from realtime.events import Event
from realtime.window import FollowingWindow

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
# How long a stopping thread publisher may take to send what it still holds.
FLUSH_TIMEOUT_SECONDS = 5.0

# A retried send may number an event twice: a send abandoned after its timeout (or whose
# answer was lost) may have reached Redis. That is harmless, so there is no dedup round trip
# on the hot path: a like count's repeat is not above the newest version and the stream
# script drops it; every other event carries absolute state (counts are totals, creations and
# deletions name their object), and the client applies a creation of an object it already has
# as a no-op. The repeat only costs one `seq` and one frame.


async def send_events(events: Sequence[Event]) -> bool:
    """Number events and send them to every worker's hub; True when the stream log took them."""
    started = time.perf_counter()
    try:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that lands as
        # the send completes, and the publisher task would then never stop.
        async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
            await streams.get_log().apublish(events)
    except Exception as exc:  # noqa: BLE001 - any failure here must stay out of the request
        return _recorded(len(events), started, exc)
    return _recorded(len(events), started, None)


def send_events_sync(events: Sequence[Event]) -> bool:
    """The same road for a thread without an event loop: one blocking round trip."""
    started = time.perf_counter()
    try:
        streams.get_log().publish(events)
    except Exception as exc:  # noqa: BLE001 - the write committed; a failed push must not undo it
        return _recorded(len(events), started, exc)
    return _recorded(len(events), started, None)


def _recorded(count: int, started: float, error: BaseException | None) -> bool:
    """Count a send in /metrics and /api/health/; True when it succeeded."""
    if error is not None:
        push_health.record_failure(error)
        metrics.PUSH_FAILURES.inc(count)
        logger.warning("push failed", extra={"events": count, "error": repr(error)})
        return False
    push_health.record_success()
    metrics.EVENTS_PUSHED.inc(count)
    metrics.PUSH_LATENCY.observe(time.perf_counter() - started)
    return True


def _count_dropped(dropped: int) -> None:
    if dropped > 0:
        metrics.PUSH_FAILURES.inc(dropped)
        logger.error("push retry queue full; oldest events dropped", extra={"events": dropped})


def _retry_delay(failures: int) -> float:
    return RETRY_DELAYS[min(failures, len(RETRY_DELAYS)) - 1]


async def send_event(event: Event) -> bool:
    return await send_events([event])


async def probe_channel_layer(timeout: float) -> str:
    """Send a throwaway message through the layer; the layer's class name when it answered."""
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS has no default layer"
    async with asyncio.timeout(timeout):  # not wait_for, which can swallow a cancel on 3.11
        await layer.group_send("health", {"type": "health.probe"})
    return type(layer).__name__


class Publisher:
    """Sends one event loop's events to the stream log in commit order, from one task."""

    def __init__(self, *, window: FollowingWindow) -> None:
        self._window = window
        self._queue = CoalescingQueue(window=window.current, limit=MAX_RETAINED_EVENTS)
        self._wake = asyncio.Event()

    def submit(self, event: Event) -> None:
        """Queue an event; call on the publisher's loop."""
        _count_dropped(self._queue.add(event, time.monotonic()))
        self._wake.set()

    async def run(self) -> None:
        failures = 0
        while True:
            await self._until_due()
            await self._follow_rounds()
            unsent = await self._send(self._queue.take(time.monotonic()))
            if not unsent:
                failures = 0
                continue
            # Redis is unreachable: keep the rest, in order, and try again shortly.
            _count_dropped(self._queue.put_back(unsent, time.monotonic()))
            failures += 1
            await asyncio.sleep(_retry_delay(failures))

    async def flush(self) -> None:
        """Send what is still queued, one try (the loop is stopping: no task to retry)."""
        _count_dropped(len(await self._send(self._queue.take_all())))

    async def _follow_rounds(self) -> None:
        now = time.monotonic()
        if not self._window.wants_reading(now):
            return
        rounds: float | None = None
        try:
            async with asyncio.timeout(SEND_TIMEOUT_SECONDS):  # not wait_for (see send_events)
                rounds = await streams.get_log().around_time()
        except Exception:  # noqa: BLE001 - the log unreachable: the send says so, the window stays safe
            logger.warning("round time unavailable", exc_info=True)
        self._queue.window = self._window.follow(rounds, now)

    @staticmethod
    async def _send(batch: list[Event]) -> list[Event]:
        """Send in messages of at most MAX_EVENTS_PER_MESSAGE; what could not be sent."""
        for start in range(0, len(batch), MAX_EVENTS_PER_MESSAGE):
            if not await send_events(batch[start : start + MAX_EVENTS_PER_MESSAGE]):
                return batch[start:]
        return []

    async def _until_due(self) -> None:
        while True:
            due = self._queue.due_at()
            now = time.monotonic()
            if due is not None and due <= now:
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(None if due is None else due - now):
                    await self._wake.wait()


class ThreadPublisher:
    """Sends a process's events to the stream log in commit order, from one thread.

    For processes without an event loop: the committing request threads only queue (no round
    trip on the request path) and like counts coalesce across all of them. The thread starts
    on first use, so it runs in a forked worker, not in a master that imported the app.
    `stop()` sends what is still queued, so a worker that exits cleanly loses nothing.
    """

    def __init__(self, *, window: FollowingWindow) -> None:
        self._window = window
        self._queue = CoalescingQueue(window=window.current, limit=MAX_RETAINED_EVENTS)
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def submit(self, event: Event) -> None:
        """Queue an event; from any thread."""
        with self._changed:
            stopped = self._stopping
            if not stopped:
                _count_dropped(self._queue.add(event, time.monotonic()))
            if self._thread is None and not stopped:
                # Daemon, so the interpreter's exit does not wait for it before stop() runs.
                self._thread = threading.Thread(target=self._run, name="publisher", daemon=True)
                self._thread.start()
            self._changed.notify()
        if stopped:
            # A commit during the process's exit: no thread to hand it to any more.
            send_events_sync([event])

    def stop(self) -> None:
        """Send what is queued (one try, within FLUSH_TIMEOUT_SECONDS) and end the thread."""
        with self._changed:
            self._stopping = True
            thread = self._thread
            self._changed.notify()
        if thread is not None:
            thread.join(FLUSH_TIMEOUT_SECONDS)

    def _run(self) -> None:
        failures = 0
        while True:
            with self._changed:
                batch = self._next_batch()
            if batch is None:
                return
            self._follow_rounds()
            unsent = self._send(batch)
            if not unsent:
                failures = 0
                continue
            with self._changed:
                if self._stopping:
                    _count_dropped(len(unsent))
                    return
                _count_dropped(self._queue.put_back(unsent, time.monotonic()))
                failures += 1
                # Woken early by stop(), which then gets its one last try.
                self._changed.wait(_retry_delay(failures))

    def _next_batch(self) -> list[Event] | None:
        """Wait (holding the condition) until events are due; None once stopped with none left."""
        while True:
            due = self._queue.due_at()
            if self._stopping:
                return self._queue.take_all() if due is not None else None
            now = time.monotonic()
            if due is not None and due <= now:
                return self._queue.take(now)
            self._changed.wait(None if due is None else due - now)

    def _follow_rounds(self) -> None:
        """Outside the lock: one plain read at most once a FOLLOW_INTERVAL_SECONDS."""
        now = time.monotonic()
        if not self._window.wants_reading(now):
            return
        rounds: float | None = None
        try:
            rounds = streams.get_log().round_time()
        except Exception:  # noqa: BLE001 - the log unreachable: the send says so, the window stays safe
            logger.warning("round time unavailable", exc_info=True)
        window = self._window.follow(rounds, now)
        with self._changed:
            self._queue.window = window

    @staticmethod
    def _send(batch: list[Event]) -> list[Event]:
        """Send in messages of at most MAX_EVENTS_PER_MESSAGE; what could not be sent."""
        for start in range(0, len(batch), MAX_EVENTS_PER_MESSAGE):
            if not send_events_sync(batch[start : start + MAX_EVENTS_PER_MESSAGE]):
                return batch[start:]
        return []


def publish_now(event: Event) -> None:
    """Hand a committed event to this process's publisher, or send it inline when it has none."""
    # Imported here: the runtime builds its publishers from this module.
    from realtime import runtime

    serving = runtime.serving()
    if serving is None:
        send_events_sync([event])
    else:
        serving.submit(event)


def publish_after_commit(build: Callable[[], Event]) -> None:
    """Build the event once the current transaction commits and send it; nothing on rollback.

    Built after commit, not before: its `ts` then marks the commit, so a client's measure of
    delivery delay starts where the write became true.
    """
    transaction.on_commit(lambda: publish_now(build()), robust=True)
