"""The realtime machinery of one event loop: publisher, hub and leaderboard ticker.

Started by the ASGI lifespan in a server process, or on first use (a test's event loop, a
server without lifespan). Everything is per loop because asyncio objects are.
"""

import asyncio
import weakref
from dataclasses import dataclass

from channels.layers import get_channel_layer
from django.conf import settings

from realtime import presence, publish, streams
from realtime.hub import Hub, cancel_and_wait
from realtime.leaderboard import refresh_forever
from realtime.snapshots import SnapshotReader


@dataclass
class Runtime:
    publisher: publish.Publisher
    hub: Hub
    snapshots: SnapshotReader
    presence: presence.Presence
    tasks: list[asyncio.Task[None]]

    async def stop(self) -> None:
        await cancel_and_wait(self.tasks)
        await self.presence.close()
        await self.hub.stop()
        # This loop's connections of the stream log (the log itself serves the whole process).
        await streams.get_log().aclose()


_runtimes: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Runtime]" = weakref.WeakKeyDictionary()
_starting: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = weakref.WeakKeyDictionary()


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
    hub = Hub(
        layer,
        log,
        flush_interval=settings.REALTIME["FLUSH_INTERVAL"],
        buffer_limit=int(settings.REALTIME["SOCKET_BUFFER_LIMIT"]),
        check_interval=settings.REALTIME["STREAM_CHECK_INTERVAL"],
    )
    await hub.start()
    publisher = publish.Publisher(loop)
    here = presence.build(hub)
    tasks = [
        asyncio.create_task(publisher.run(), name="publisher"),
        asyncio.create_task(refresh_forever(publisher), name="leaderboard-ticker"),
        asyncio.create_task(here.run(), name="presence"),
    ]
    publish.install(publisher)
    return Runtime(publisher=publisher, hub=hub, snapshots=SnapshotReader(log, hub), presence=here, tasks=tasks)


async def stop_runtime() -> None:
    """Stop this loop's runtime, if any (server shutdown, end of a test)."""
    loop = asyncio.get_running_loop()
    runtime = _runtimes.pop(loop, None)
    if runtime is None:
        return
    publish.install(None)
    await runtime.stop()
