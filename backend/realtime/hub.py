"""Per-process fan-out: one channel-layer member per process, many sockets behind it.

Stock Channels gives every socket its own layer channel and runs each broadcast through
every consumer's dispatch (a database-connection hop per message, a re-encode per socket).
Here the process holds one subscription (the layer group every worker publishes its events
to, several events a message), routes each event by its own group (feed, leaderboard,
post.<id>) to the local sockets in that group, and delivers the already-encoded text.

Delivery is coalesced: events that arrive while a delivery is under way (or within
FLUSH_INTERVAL of the last one) wait, like counts of one object collapse to the latest
version, and each socket receives its share of the waiting events as one frame; sockets
that follow the same groups share the same encoded frame.

Sockets are kept in buckets by the exact set of groups they are in, so a delivery round
works out each bucket's share once, not each socket's. Where the server allows it (uvicorn's
sans-I/O protocol, no compression negotiated) the frame is framed once, as websocket bytes,
and written straight to each socket's transport: a server-to-client frame is unmasked, so
its bytes are the same for every socket. Elsewhere the text goes through the ASGI send.
"""

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from channels.layers import BaseChannelLayer
from websockets.protocol import State

from ops import metrics
from realtime.publish import EVENTS_GROUP, MESSAGE_TYPE

logger = logging.getLogger(__name__)

AsgiSend = Callable[[dict[str, Any]], Awaitable[None]]
# After this many socket writes the delivery loop yields, so requests on the same loop run.
SENDS_PER_YIELD = 500
# Closes of slow sockets started from the synchronous write path, held until they finish.
_closing_sockets: set[asyncio.Future[None]] = set()


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


def text_frame(payload: bytes) -> bytes:
    """An unfragmented, unmasked websocket text frame (RFC 6455 5.2), as a server sends it."""
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 65_536:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


class _DirectWriter:
    """Writes ready-made frames to a uvicorn sans-I/O websocket's transport.

    Used only when no extension (compression) was negotiated, so the frame on the wire is
    exactly what the protocol object would have produced from the same text.
    """

    __slots__ = ("_protocol", "_state", "transport")

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol
        self._state = protocol.conn
        self.transport = protocol.transport

    @classmethod
    def for_send(cls, send: AsgiSend) -> "_DirectWriter | None":
        protocol = getattr(send, "__self__", None)
        state: Any = getattr(protocol, "conn", None)
        transport = getattr(protocol, "transport", None)
        if transport is None or not hasattr(protocol, "close_sent") or not hasattr(state, "extensions"):
            return None
        if state.extensions:
            return None
        return cls(protocol)

    def writable(self) -> bool:
        return not self._protocol.close_sent and self._state.state is State.OPEN and not self.transport.is_closing()


class Connection:
    """One websocket as the hub sees it."""

    __slots__ = ("_backlog", "_direct", "_on_overflow", "_send", "groups", "label", "open")

    def __init__(self, send: AsgiSend, *, on_overflow: Callable[[], Awaitable[None]], label: str = "") -> None:
        self._send = send
        self._direct = _DirectWriter.for_send(send)
        self._backlog = _write_backlog_probe(send)
        self._on_overflow = on_overflow
        # The groups this socket is in: the key of its hub bucket, shared with the bucket's
        # other sockets, so it is replaced, never changed in place.
        self.groups: frozenset[str] = frozenset()
        self.open = True
        self.label = label

    @property
    def direct(self) -> bool:
        return self._direct is not None

    def _over_limit(self, buffer_limit: int) -> bool:
        if self._backlog is None or self._backlog() <= buffer_limit:
            return False
        self.open = False
        metrics.SLOW_SOCKETS_CLOSED.inc()
        logger.info("closing slow socket", extra={"socket": self.label, "buffered": self._backlog()})
        return True

    def write_frame(self, frame: bytes, buffer_limit: int) -> None:
        """The direct path: write the framed bytes now, without a coroutine per socket."""
        direct = self._direct
        if not self.open or direct is None:
            return
        if not direct.writable():
            self.open = False
            return
        if self._over_limit(buffer_limit):
            closing = asyncio.ensure_future(self._on_overflow())
            _closing_sockets.add(closing)
            closing.add_done_callback(_closing_sockets.discard)
            return
        direct.transport.write(frame)

    async def deliver(self, text: str, buffer_limit: int) -> None:
        if not self.open:
            return
        if self._over_limit(buffer_limit):
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
        # Sockets by the exact set of groups they are in; a round computes each bucket's share once.
        self._buckets: dict[frozenset[str], set[Connection]] = {}
        # Each bucket's key by itself, to find the shared instance of a set of groups.
        self._shared_group_sets: dict[frozenset[str], frozenset[str]] = {}
        self._pending: dict[object, _Pending] = {}
        self._sequence = 0
        self._wake = asyncio.Event()
        self._channel: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # The last leaderboard frame seen, so a new socket gets it without a query.
        self.leaderboard_text: str | None = None

    @property
    def socket_count(self) -> int:
        return len(self._members.get("feed", ()))

    async def start(self) -> None:
        self._channel = await self._layer.new_channel(prefix="hub.")
        # The process's one subscription: every worker's events, routed here by group.
        await self._layer.group_add(EVENTS_GROUP, self._channel)
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

    def _move(self, conn: Connection, groups: frozenset[str]) -> None:
        """Put the socket in the bucket of exactly these groups.

        Each distinct set of groups exists once, as its bucket's key, and every socket in the
        bucket points at that one frozenset: thousands of sockets that follow the same posts
        cost one set, not a mutable set and a frozen copy each.
        """
        old = self._buckets.get(conn.groups)
        if old is not None:
            old.discard(conn)
            if not old:
                del self._buckets[conn.groups]
                del self._shared_group_sets[conn.groups]
        if groups:
            groups = self._shared_group_sets.setdefault(groups, groups)
            self._buckets.setdefault(groups, set()).add(conn)
        conn.groups = groups

    def join(self, conn: Connection, *groups: str) -> None:
        new_groups = [group for group in groups if group not in conn.groups]
        if not new_groups:
            return
        self._move(conn, conn.groups.union(new_groups))
        for group in new_groups:
            self._members.setdefault(group, set()).add(conn)

    def leave(self, conn: Connection, *groups: str) -> None:
        old_groups = [group for group in groups if group in conn.groups]
        if not old_groups:
            return
        self._move(conn, conn.groups.difference(old_groups))
        for group in old_groups:
            members = self._members.get(group)
            if members is not None:
                members.discard(conn)
                if not members:
                    del self._members[group]

    def leave_all(self, conn: Connection) -> None:
        conn.open = False
        self.leave(conn, *conn.groups)

    def member_count(self, group: str) -> int:
        return len(self._members.get(group, ()))

    def member_counts(self) -> dict[str, int]:
        return {group: len(members) for group, members in self._members.items()}

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
                for group, text, key, version in message["events"]:
                    self.accept(group, text, key, version)

    def accept(self, group: str, text: str, key: str | None = None, version: int = 0) -> None:
        """Queue an encoded event for the sockets in `group`."""
        if group == "leaderboard":
            self.leaderboard_text = text
        if group not in self._members:
            return  # every worker hears every event; this one has no socket that wants it
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
        groups_in_round = {event.group for event in batch}
        frames: dict[tuple[int, ...], tuple[str, bytes]] = {}
        sent = events_sent = 0
        for bucket, members in list(self._buckets.items()):
            if bucket.isdisjoint(groups_in_round):
                continue
            # This bucket's share of the round's events, in arrival order.
            share = tuple(index for index, event in enumerate(batch) if event.group in bucket)
            frame = frames.get(share)
            if frame is None:
                text = self._frame([batch[i].text for i in share])
                frame = frames[share] = (text, text_frame(text.encode()))
            text, framed = frame
            for conn in list(members):
                if conn.direct:
                    conn.write_frame(framed, self._buffer_limit)
                else:
                    await conn.deliver(text, self._buffer_limit)
                sent += 1
                if sent % SENDS_PER_YIELD == 0:
                    await asyncio.sleep(0)
            events_sent += len(share) * len(members)
        metrics.FRAMES_SENT.inc(sent)
        metrics.EVENTS_DELIVERED.inc(events_sent)

    @staticmethod
    def _frame(texts: list[str]) -> str:
        if len(texts) == 1:
            return texts[0]
        # The events are JSON already: a batch is built by joining them, not re-encoding.
        return '{"type":"batch","events":[' + ",".join(texts) + "]}"
