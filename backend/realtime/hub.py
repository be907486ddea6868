"""Per-process fan-out: one channel-layer member per process, many sockets behind it.

Stock Channels gives every socket its own layer channel and runs each broadcast through
every consumer's dispatch (a database-connection hop per message, a re-encode per socket).
Here the process joins each group once, on behalf of all its local sockets, and delivers
the already-encoded text straight to each socket's ASGI send.

Delivery is coalesced: events that arrive while a delivery is under way (or within
FLUSH_INTERVAL of the last one) wait, like counts of one object collapse to the latest
version, and each socket receives its share of the waiting events as one frame; sockets
that follow the same groups share the same encoded frame.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from channels.layers import BaseChannelLayer

from ops import metrics
from realtime.publish import MESSAGE_TYPE

logger = logging.getLogger(__name__)

AsgiSend = Callable[[dict[str, Any]], Awaitable[None]]
# After this many socket writes the delivery loop yields, so requests on the same loop run.
SENDS_PER_YIELD = 500


def _write_backlog_probe(send: AsgiSend) -> Callable[[], int] | None:
    """How to read the bytes a socket has not yet written, if the server lets us see it.

    ASGI has no back-pressure for websocket sends: uvicorn's sans-I/O protocol writes each
    frame into the transport at once, so a client that stops reading grows the transport's
    buffer. The protocol object behind `send` exposes that transport; servers that do not
    are simply not capped.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    probe = getattr(transport, "get_write_buffer_size", None)
    return probe if callable(probe) else None


class Connection:
    """One websocket as the hub sees it."""

    __slots__ = ("_backlog", "_on_overflow", "_send", "groups", "label", "open")

    def __init__(self, send: AsgiSend, *, on_overflow: Callable[[], Awaitable[None]], label: str = "") -> None:
        self._send = send
        self._backlog = _write_backlog_probe(send)
        self._on_overflow = on_overflow
        self.groups: set[str] = set()
        self.open = True
        self.label = label

    async def deliver(self, text: str, buffer_limit: int) -> None:
        if not self.open:
            return
        if self._backlog is not None and self._backlog() > buffer_limit:
            self.open = False
            metrics.SLOW_SOCKETS_CLOSED.inc()
            logger.info("closing slow socket", extra={"socket": self.label, "buffered": self._backlog()})
            await self._on_overflow()
            return
        try:
            await self._send({"type": "websocket.send", "text": text})
        except Exception:  # noqa: BLE001 - the peer went away mid-write; its disconnect cleans up
            self.open = False


class _Pending:
    __slots__ = ("group", "text", "version")

    def __init__(self, group: str, text: str, version: int) -> None:
        self.group = group
        self.text = text
        self.version = version


class Hub:
    def __init__(self, layer: BaseChannelLayer, *, flush_interval: float, buffer_limit: int) -> None:
        self._layer = layer
        self._flush_interval = flush_interval
        self._buffer_limit = buffer_limit
        self._members: dict[str, set[Connection]] = {}
        self._pending: dict[object, _Pending] = {}
        self._sequence = 0
        self._wake = asyncio.Event()
        self._membership_lock = asyncio.Lock()
        self._channel: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # The last leaderboard frame seen, so a new socket gets it without a query.
        self.leaderboard_text: str | None = None

    @property
    def socket_count(self) -> int:
        return len(self._members.get("feed", ()))

    async def start(self) -> None:
        self._channel = await self._layer.new_channel(prefix="hub.")
        self._tasks = [
            asyncio.create_task(self._receive_forever(), name="hub-receive"),
            asyncio.create_task(self._deliver_forever(), name="hub-deliver"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    # -- membership ---------------------------------------------------------------------

    async def join(self, conn: Connection, group: str) -> None:
        if group in conn.groups:
            return
        conn.groups.add(group)
        members = self._members.get(group)
        if members is None:
            members = self._members[group] = set()
            assert self._channel is not None, "Hub.start() was not awaited"
            # The lock orders subscribe and unsubscribe of one group across coroutines.
            async with self._membership_lock:
                await self._layer.group_add(group, self._channel)
        members.add(conn)

    async def leave(self, conn: Connection, group: str) -> None:
        if group not in conn.groups:
            return
        conn.groups.discard(group)
        members = self._members.get(group)
        if members is None:
            return
        members.discard(conn)
        if not members:
            del self._members[group]
            assert self._channel is not None
            async with self._membership_lock:
                if group not in self._members:
                    await self._layer.group_discard(group, self._channel)

    async def leave_all(self, conn: Connection) -> None:
        conn.open = False
        for group in list(conn.groups):
            await self.leave(conn, group)

    # -- inbound from the channel layer ---------------------------------------------------

    async def _receive_forever(self) -> None:
        assert self._channel is not None
        while True:
            try:
                message = await self._layer.receive(self._channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("hub receive failed; retrying")
                await asyncio.sleep(1.0)
                continue
            if message.get("type") == MESSAGE_TYPE:
                self.accept(message["group"], message["text"], message.get("key"), message.get("version") or 0)

    def accept(self, group: str, text: str, key: str | None = None, version: int = 0) -> None:
        """Queue an encoded event for the sockets in `group`."""
        if group == "leaderboard":
            self.leaderboard_text = text
        if key is None:
            self._sequence += 1
            self._pending[self._sequence] = _Pending(group, text, version)
        else:
            queued = self._pending.get(key)
            if queued is not None and queued.version >= version:
                return
            self._pending[key] = _Pending(group, text, version)
        self._wake.set()

    # -- outbound to sockets ------------------------------------------------------------

    async def _deliver_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            started = loop.time()
            batch, self._pending = list(self._pending.values()), {}
            try:
                await self.deliver(batch)
            except Exception:
                logger.exception("delivery failed")
            # Whatever arrives meanwhile waits for the next round: that wait is the coalescing.
            await asyncio.sleep(max(0.0, self._flush_interval - (loop.time() - started)))

    async def deliver(self, batch: list[_Pending]) -> None:
        # Which of this round's events each socket should get, in arrival order.
        shares: dict[Connection, list[int]] = {}
        for index, event in enumerate(batch):
            for conn in self._members.get(event.group, ()):
                share = shares.get(conn)
                if share is None:
                    shares[conn] = [index]
                else:
                    share.append(index)
        frames: dict[tuple[int, ...], str] = {}
        sent = 0
        for conn, share in shares.items():
            key = tuple(share)
            frame = frames.get(key)
            if frame is None:
                frame = frames[key] = self._frame([batch[i].text for i in share])
            await conn.deliver(frame, self._buffer_limit)
            sent += 1
            if sent % SENDS_PER_YIELD == 0:
                await asyncio.sleep(0)
        metrics.FRAMES_SENT.inc(sent)
        metrics.EVENTS_DELIVERED.inc(sum(len(share) for share in shares.values()))

    @staticmethod
    def _frame(texts: list[str]) -> str:
        if len(texts) == 1:
            return texts[0]
        # The events are JSON already: a batch is built by joining them, not re-encoding.
        return '{"type":"batch","events":[' + ",".join(texts) + "]}"
