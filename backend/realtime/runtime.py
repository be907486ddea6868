"""The realtime machinery of a process, and the one registry of it.

A socket worker runs one `Runtime` per event loop: publisher, hub, presence and leaderboard
ticker, started by the ASGI lifespan or on first use (a test's event loop, a server without
lifespan); everything is per loop because asyncio objects are. A process without an event
loop (a WSGI worker) installs a thread runtime instead (realtime/sync_runtime.py).

Committed events and leaderboard wake-ups find their way here: `publisher_here()` and
`request_leaderboard_refresh()` pick this process's runtime, or none (events are then sent
inline and the leaderboard waits for its next periodic refresh).
"""

import asyncio
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from realtime import presence, publish, streams, window
from realtime.events import Event
from realtime.hub import Hub
from realtime.leaderboard import refresh_forever
from realtime.snapshots import SnapshotReader
from realtime.tasks import cancel_and_wait


class ThreadRuntime(Protocol):
    """The runtime of a process without an event loop (realtime.sync_runtime.SyncRuntime)."""

    def submit(self, event: Event) -> None:
        """Queue a committed event for publishing; from any thread."""

    def request_leaderboard_refresh(self) -> None: ...


@dataclass
class Runtime:
    loop: asyncio.AbstractEventLoop
    publisher: publish.Publisher
    hub: Hub
    snapshots: SnapshotReader
    presence: presence.Presence
    leaderboard_wanted: asyncio.Event
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def submit(self, event: Event) -> None:
        self._on_loop(self.publisher.submit, event)

    def request_leaderboard_refresh(self) -> None:
        self._on_loop(self.leaderboard_wanted.set)

    def _on_loop(self, callback: Callable[..., None], *args: object) -> None:
        if _running_loop() is self.loop:
            callback(*args)
        else:
            self.loop.call_soon_threadsafe(callback, *args)

    def is_live(self) -> bool:
        return self.loop.is_running() and not self.loop.is_closed()

    async def stop(self) -> None:
        await cancel_and_wait(self.tasks)
        # Like counts still inside their coalescing window go out before the loop ends.
        await self.publisher.flush()
        await self.presence.close()
        await self.hub.stop()
        # This loop's connections of the stream log (the log itself serves the whole process).
        await streams.get_log().aclose()


_runtimes: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Runtime]" = weakref.WeakKeyDictionary()
_starting: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = weakref.WeakKeyDictionary()
_thread_runtime: ThreadRuntime | None = None


async def get_runtime() -> Runtime:
    """This loop's runtime, started on first call."""
    loop = asyncio.get_running_loop()
    runtime = _runtimes.get(loop)
    if runtime is not None:
        return runtime
    lock = _starting.setdefault(loop, asyncio.Lock())
    async with lock:
        runtime = _runtimes.get(loop)
        if runtime is None:
            runtime = await _start(loop)
            _runtimes[loop] = runtime
    return runtime


async def _start(loop: asyncio.AbstractEventLoop) -> Runtime:
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS has no default layer"
    log = streams.get_log()
    coalescing = window.configured()
    hub = Hub(
        layer,
        log,
        flush_interval=settings.REALTIME["FLUSH_INTERVAL"],
        buffer_limit=int(settings.REALTIME["SOCKET_BUFFER_LIMIT"]),
        check_interval=settings.REALTIME["STREAM_CHECK_INTERVAL"],
        report_rounds=coalescing.follows,
    )
    await hub.start()
    publisher = publish.Publisher(window=coalescing)
    here = presence.build(hub)
    runtime = Runtime(
        loop=loop,
        publisher=publisher,
        hub=hub,
        snapshots=SnapshotReader(log, hub),
        presence=here,
        leaderboard_wanted=asyncio.Event(),
    )
    runtime.tasks += [
        asyncio.create_task(publisher.run(), name="publisher"),
        asyncio.create_task(refresh_forever(runtime.leaderboard_wanted), name="leaderboard-ticker"),
        asyncio.create_task(here.run(), name="presence"),
    ]
    return runtime


async def stop_runtime() -> None:
    """Stop this loop's runtime, if any (server shutdown, end of a test)."""
    runtime = _runtimes.pop(asyncio.get_running_loop(), None)
    if runtime is not None:
        await runtime.stop()


def install_thread_runtime(runtime: ThreadRuntime | None) -> None:
    """Make `runtime` the one of this process when it has no serving loop (None: remove it)."""
    global _thread_runtime
    _thread_runtime = runtime


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def serving() -> Runtime | ThreadRuntime | None:
    """Where this thread hands committed events (None: nowhere, they are sent inline).

    The running loop's runtime; else the newest live loop's (a thread of a socket worker, e.g.
    a service run by sync_to_async); else the thread runtime, if one is installed.
    """
    loop = _running_loop()
    runtime = _runtimes.get(loop) if loop is not None else None
    if runtime is not None:
        return runtime
    for candidate in reversed(list(_runtimes.values())):
        if candidate.is_live():
            return candidate
    return _thread_runtime


def request_leaderboard_refresh() -> None:
    """Ask this process's leaderboard ticker to recompute soon (coalesced, at most 1/s)."""
    runtime = serving()
    if runtime is not None:
        runtime.request_leaderboard_refresh()


def request_leaderboard_refresh_after_commit() -> None:
    transaction.on_commit(request_leaderboard_refresh, robust=True)
