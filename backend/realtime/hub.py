"""Per-process fan-out: one channel-layer member per process, many sockets behind it.

Stock Channels gives every socket its own layer channel and runs each broadcast through
every consumer's dispatch (a database-connection hop per message, a re-encode per socket).
Here the process holds one subscription (the layer group every worker publishes its events
to, several events a message), routes each event by its own group (feed, leaderboard,
post.<id>) to the local sockets in that group, and delivers the already-encoded text.

Delivery is batched: events that arrive while a delivery is under way (or within
FLUSH_INTERVAL of the last one) wait, and each socket receives its share of the waiting
events as one frame; sockets that follow the same groups share the same encoded frame. (Like
counts are coalesced before they are numbered, by the publisher and the stream log: an
event that got a seq is always delivered.)

Each stream's events are delivered in seq order, once. The hub keeps the last seq it took
of every stream; a repeat is dropped, and a hole (a seq more than one above) holds that
stream's later events while the missing ones are read from the stream log's backlog. A
periodic check compares the positions of the streams it has sockets in with the log's, so
events lost while its own subscription was down (channels-redis drops what is published
meanwhile) are repaired too, even when nothing follows them. What cannot be repaired, and a
change of epoch (Redis lost its data), closes the sockets concerned with CLOSE_STREAMS_RESET:
they reconnect and resume, and learn which streams to read afresh.

Sockets are kept in buckets by the exact set of groups they are in, so a delivery round
works out each bucket's share once, not each socket's. Where the server allows it (uvicorn's
sans-I/O protocol, no compression negotiated) the frame is framed once, as websocket bytes,
and written straight to each socket's transport: a server-to-client frame is unmasked, so
its bytes are the same for every socket. Elsewhere the text goes through the ASGI send.
"""

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from channels.layers import BaseChannelLayer
from websockets.protocol import State

from ops import metrics
from realtime import events
from realtime.events import EVENTS_GROUP, FEED_GROUP, LEADERBOARD_GROUP, HubMessage
from realtime.streams import StreamLog

logger = logging.getLogger(__name__)

AsgiSend = Callable[[dict[str, Any]], Awaitable[None]]
# After this many socket writes the delivery loop yields, so requests on the same loop run.
SENDS_PER_YIELD = 500
# Close codes (4000-4999 are the application's own).
CLOSE_TOO_SLOW = 4009
# The streams this socket is in lost events the hub could not repair, or their epoch changed:
# reconnect and resume.
CLOSE_STREAMS_RESET = 4010
# Attempts to read a hole's events from the log (Redis down) before the sockets are reset.
REPAIR_ATTEMPTS = 10
REPAIR_RETRY_DELAY = 0.5
# Closes of sockets started from synchronous code, held until they finish.
_closing_sockets: set[asyncio.Future[None]] = set()


async def cancel_and_wait(tasks: Iterable["asyncio.Task[None]"]) -> None:
    """Cancel tasks and wait until they ended, cancelling again any that swallowed it.

    On Python 3.11 asyncio.wait_for (which redis-py uses inside its commands) can swallow a
    cancel that lands as the inner call completes; the task then goes on as if never told.
    """
    pending = list(tasks)
    while pending:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.5)
        pending = [task for task in pending if not task.done()]


def _close_soon(close: Callable[[int], Awaitable[None]], code: int) -> None:
    closing = asyncio.ensure_future(close(code))
    _closing_sockets.add(closing)
    closing.add_done_callback(_closing_sockets.discard)


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

    __slots__ = ("_backlog", "_direct", "_send", "close", "groups", "held", "label", "open")

    def __init__(self, send: AsgiSend, *, close: Callable[[int], Awaitable[None]], label: str = "") -> None:
        self._send = send
        self._direct = _DirectWriter.for_send(send)
        self._backlog = _write_backlog_probe(send)
        self.close = close
        # Frames the hub produced while the consumer was writing a reply that must come
        # first (hello, a resume's replay); None when frames go straight out.
        self.held: list[tuple[str, bytes]] | None = None
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
            _close_soon(self.close, CLOSE_TOO_SLOW)
            return
        direct.transport.write(frame)

    async def deliver(self, text: str, buffer_limit: int) -> None:
        if not self.open:
            return
        if self._over_limit(buffer_limit):
            await self.close(CLOSE_TOO_SLOW)
            return
        try:
            await self._send({"type": "websocket.send", "text": text})
        except Exception:  # noqa: BLE001 - the peer went away mid-write; its disconnect cleans up
            self.open = False


class _Pending:
    __slots__ = ("group", "text")

    def __init__(self, group: str, text: str) -> None:
        self.group = group
        self.text = text


class Hub:
    def __init__(
        self,
        layer: BaseChannelLayer,
        log: StreamLog,
        *,
        flush_interval: float,
        buffer_limit: int,
        check_interval: float = 1.0,
    ) -> None:
        self._layer = layer
        self._log = log
        self._check_interval = check_interval
        self._flush_interval = flush_interval
        self._buffer_limit = buffer_limit
        self._members: dict[str, set[Connection]] = {}
        # Sockets by the exact set of groups they are in; a round computes each bucket's share once.
        self._buckets: dict[frozenset[str], set[Connection]] = {}
        # Each bucket's key by itself, to find the shared instance of a set of groups.
        self._shared_group_sets: dict[frozenset[str], frozenset[str]] = {}
        self._pending: list[_Pending] = []
        self._wake = asyncio.Event()
        self._channel: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # The last leaderboard frame seen, so a new socket gets it without a query.
        self.leaderboard_text: str | None = None
        # The epoch of the positions below (None until the log first answered).
        self.epoch: str | None = None
        # The last seq taken in order, per stream heard.
        self._positions: dict[str, int] = {}
        # Streams with a hole being filled from the backlog: their later events, held.
        self._repairing: dict[str, list[tuple[int, str]]] = {}
        self._repairs: set[asyncio.Task[None]] = set()
        # Per stream, the log's seq at the last check when it was ahead of this hub.
        self._behind: dict[str, int] = {}

    @property
    def socket_count(self) -> int:
        return len(self._members.get("feed", ()))

    async def start(self) -> None:
        self._channel = await self._layer.new_channel(prefix="hub.")
        # The process's one subscription: every worker's events, routed here by group.
        await self._layer.group_add(EVENTS_GROUP, self._channel)
        # Positions read after subscribing: every later event reaches this hub.
        try:
            await self.positions_for_new_socket()
        except Exception:  # noqa: BLE001 - the periodic check and the first event fill them in
            logger.warning("stream log unreachable at start", exc_info=True)
        self._tasks = [
            asyncio.create_task(self._receive_forever(), name="hub-receive"),
            asyncio.create_task(self._deliver_forever(), name="hub-deliver"),
            asyncio.create_task(self._check_forever(), name="hub-check"),
        ]

    async def stop(self) -> None:
        await cancel_and_wait([*self._tasks, *self._repairs])
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
            numbered = HubMessage.from_layer(message)
            if numbered is None:
                continue
            if numbered.epoch != self.epoch:
                self._epoch_changed(numbered.epoch)
            for event in numbered.events:
                self.accept(event.stream, event.seq, event.text)

    def accept(self, group: str, seq: int, text: str) -> None:
        """Queue an encoded event for the sockets in `group`, in seq order (seq 0: no stream)."""
        if seq:
            last = self._positions.get(group)
            if last is not None:
                if seq <= last:
                    return  # a repeat: already taken (or replayed by a repair)
                if seq > last + 1 or group in self._repairing:
                    self._hold_for_repair(group, seq, text)
                    return
            self._positions[group] = seq
            if group == LEADERBOARD_GROUP:
                self.leaderboard_text = text
        if group not in self._members:
            return  # every worker hears every event; this one has no socket that wants it
        self._pending.append(_Pending(group, text))
        self._wake.set()

    def position(self, stream: str) -> int | None:
        """The last seq of `stream` this hub took in order, if it has heard of the stream."""
        return self._positions.get(stream)

    def note_positions(self, seqs: dict[str, int], epoch: str) -> None:
        """Positions read from the log after a socket joined these streams; fills unknown ones."""
        if epoch == self.epoch:
            for stream, seq in seqs.items():
                self._positions.setdefault(stream, seq)

    async def positions_for_new_socket(self) -> tuple[str, int]:
        """The epoch and the feed's position for a socket that has just joined the feed."""
        feed = self._positions.get(FEED_GROUP)
        if self.epoch is not None and feed is not None:
            return self.epoch, feed
        read = await self._log.apositions([FEED_GROUP, LEADERBOARD_GROUP])
        if self.epoch is None:
            self.epoch = read.epoch
        self.note_positions(read.seqs, read.epoch)
        return read.epoch, read.seqs[FEED_GROUP]

    # -- repair -------------------------------------------------------------------------

    def _hold_for_repair(self, group: str, seq: int, text: str) -> None:
        held = self._repairing.get(group)
        if held is None:
            held = self._start_repair(group)
        held.append((seq, text))

    def _start_repair(self, group: str) -> list[tuple[int, str]]:
        held = self._repairing[group] = []
        metrics.STREAM_REPAIRS.inc()
        task = asyncio.create_task(self._repair(group), name=f"hub-repair-{group}")
        self._repairs.add(task)
        task.add_done_callback(self._repairs.discard)
        return held

    async def _repair(self, group: str) -> None:
        """Read what this hub missed of `group` from the backlog, then release what it held."""
        epoch = self.epoch
        position = self._positions[group]
        backlog = None
        for attempt in range(REPAIR_ATTEMPTS):
            try:
                backlog = await self._log.aread_since({group: position})
                break
            except Exception:  # noqa: BLE001 - Redis may be back in a moment
                logger.warning("stream repair read failed", extra={"stream": group, "attempt": attempt})
                await asyncio.sleep(REPAIR_RETRY_DELAY)
        if self.epoch != epoch:
            return  # the epoch changed meanwhile; every socket was reset already
        held = self._repairing.pop(group, [])
        if backlog is None or backlog.epoch != epoch or group not in backlog.recovered:
            logger.warning("stream repair impossible; resetting its sockets", extra={"stream": group})
            metrics.STREAM_RESETS.inc()
            newest = max([seq for seq, _ in held], default=position)
            self._positions[group] = max(newest, backlog.seqs.get(group, 0) if backlog else 0)
            self._reset_sockets(self._members.get(group, ()))
            return
        for seq, text in backlog.recovered[group]:
            self.accept(group, seq, text)
        for seq, text in held:
            self.accept(group, seq, text)

    async def _check_forever(self) -> None:
        while True:
            await asyncio.sleep(self._check_interval)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - Redis down: the next check tries again
                logger.warning("stream check failed", exc_info=True)

    async def check(self) -> None:
        """Compare the positions of the streams this hub has sockets in with the log's.

        A stream the log was ahead of at the previous check, and that this hub has not caught
        up with since, lost events on the way here: repair it from the backlog.
        """
        read = await self._log.apositions(list(self._members))
        if read.epoch != self.epoch:
            self._epoch_changed(read.epoch)
            return
        behind: dict[str, int] = {}
        for stream, seq in read.seqs.items():
            mine = self._positions.get(stream)
            if mine is None or seq <= mine or stream in self._repairing:
                continue
            if self._behind.get(stream, 0) > mine:
                self._start_repair(stream)
            else:
                behind[stream] = seq
        self._behind = behind

    def _epoch_changed(self, epoch: str) -> None:
        known = self.epoch is not None
        self.epoch = epoch
        if not known:
            return
        logger.warning("stream epoch changed; resetting every socket", extra={"epoch": epoch})
        metrics.STREAM_RESETS.inc()
        self._positions.clear()
        self._repairing.clear()
        self._behind.clear()
        self.leaderboard_text = None
        self._reset_sockets(self._members.get(FEED_GROUP, ()))

    @staticmethod
    def _reset_sockets(sockets: Iterable[Connection]) -> None:
        for conn in list(sockets):
            if conn.open:
                conn.open = False
                _close_soon(conn.close, CLOSE_STREAMS_RESET)

    # -- holding a socket's frames ------------------------------------------------------

    def hold(self, conn: Connection) -> None:
        """Keep the hub's frames for this socket until release(): a reply must go first."""
        if conn.held is None:
            conn.held = []

    async def release(self, conn: Connection) -> None:
        """Write what was held, in order, and go back to writing frames as they come."""
        while conn.held:
            held, conn.held = conn.held, []
            for text, framed in held:
                if conn.direct:
                    conn.write_frame(framed, self._buffer_limit)
                else:
                    await conn.deliver(text, self._buffer_limit)
        conn.held = None

    # -- outbound to sockets ------------------------------------------------------------

    async def _deliver_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            started = loop.time()
            batch, self._pending = self._pending, []
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
                text = events.batch([batch[i].text for i in share])
                frame = frames[share] = (text, text_frame(text.encode()))
            text, framed = frame
            for conn in list(members):
                if conn.held is not None:
                    conn.held.append(frame)
                elif conn.direct:
                    conn.write_frame(framed, self._buffer_limit)
                else:
                    await conn.deliver(text, self._buffer_limit)
                sent += 1
                if sent % SENDS_PER_YIELD == 0:
                    await asyncio.sleep(0)
            events_sent += len(share) * len(members)
        metrics.FRAMES_SENT.inc(sent)
        metrics.EVENTS_DELIVERED.inc(events_sent)
