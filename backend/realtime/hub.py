"""Per-process fan-out: one channel-layer member per process, many sockets behind it.

Stock Channels gives every socket its own layer channel and runs each broadcast through
every consumer's dispatch (a database-connection hop per message, a re-encode per socket).
Here the process holds one subscription (the layer group every worker publishes its events
to, several events a message), puts each stream's events in order (realtime/stream_order.py),
routes each event by its own group (feed, leaderboard, post.<id>) to the local sockets in
that group, and delivers the already-encoded text.

Delivery is batched: a delivery round writes each socket, as one frame, its share of the
events queued since its last frame, and rounds start at most once every FLUSH_INTERVAL.
Sockets that follow the same groups share the same encoded frame. (Like counts are coalesced
before they are numbered, by the publisher and the stream log: an event that got a seq is
always delivered.)

A round over many sockets takes a while (about 10 µs a socket), so it rolls: it looks at the
queue again every SENDS_PER_YIELD writes, and the sockets it has not written yet get what
arrived meanwhile in the same frame. Each socket counts how far into the queue it has had its
share (`Connection.seen`), and the next round gives the sockets already written only what
they lack. So an event reaches its last socket within one round of arriving, not after the
rest of the round under way and then a whole one more.

While the publishers' coalescing window follows the rounds (realtime/window.py), the hub
reports its longest round of each FOLLOW_INTERVAL_SECONDS to them through the stream log.

Sockets are kept in buckets by the exact set of groups they are in (realtime/membership.py),
so a delivery round works out each bucket's share once, not each socket's. Each share is
framed once as websocket bytes too, for the sockets written straight into uvicorn's transport
(realtime/uvicorn_direct.py); the others get the text through their ASGI send.
"""

import asyncio
import logging
import time

import orjson
from channels.layers import BaseChannelLayer

from ops import metrics
from realtime import events
from realtime.connection import Connection, reset
from realtime.events import EVENTS_GROUP, FEED_GROUP, LEADERBOARD_GROUP, HubMessage, NumberedEvent
from realtime.membership import Membership
from realtime.stream_order import StreamOrder
from realtime.streams import StreamLog
from realtime.tasks import cancel_and_wait
from realtime.uvicorn_direct import text_frame
from realtime.window import FOLLOW_INTERVAL_SECONDS

logger = logging.getLogger(__name__)

# After this many socket writes the delivery loop yields, so requests on the same loop run.
SENDS_PER_YIELD = 500


class Hub:
    def __init__(
        self,
        layer: BaseChannelLayer,
        log: StreamLog,
        *,
        flush_interval: float,
        buffer_limit: int,
        check_interval: float = 1.0,
        report_rounds: bool = False,
    ) -> None:
        self._layer = layer
        self._log = log
        self._report_rounds = report_rounds
        # The longest delivery round since the last report (0: none).
        self._longest_round = 0.0
        self._check_interval = check_interval
        self._flush_interval = flush_interval
        self._buffer_limit = buffer_limit
        self.members = Membership()
        # Events queued for the sockets, oldest first, until every socket has had its share;
        # `_first` counts the events already dropped from the front, so `_first + i` numbers
        # `_queued[i]` for good (what `Connection.seen` counts).
        self._queued: list[NumberedEvent] = []
        self._first = 0
        self._wake = asyncio.Event()
        self._channel: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # The last leaderboard frame seen, so a new socket gets it without a query.
        self.leaderboard_text: str | None = None
        self.order = StreamOrder(
            log,
            release=self._queue,
            reset_stream=lambda stream: reset(self.members.of(stream)),
            reset_all=self._reset_every_socket,
            followed=self.members.groups,
        )

    async def start(self) -> None:
        self._channel = await self._layer.new_channel(prefix="hub.")
        # The process's one subscription: every worker's events, routed here by group.
        await self._layer.group_add(EVENTS_GROUP, self._channel)
        # Positions read after subscribing: every later event reaches this hub.
        try:
            await self.order.positions_for_new_socket()
        except Exception:  # noqa: BLE001 - the periodic check and the first event fill them in
            logger.warning("stream log unreachable at start", exc_info=True)
        self._tasks = [
            asyncio.create_task(self._receive_forever(), name="hub-receive"),
            asyncio.create_task(self._deliver_forever(), name="hub-deliver"),
            asyncio.create_task(self.order.check_forever(self._check_interval), name="hub-check"),
        ]
        if self._report_rounds:
            self._tasks.append(asyncio.create_task(self._report_rounds_forever(), name="hub-report-rounds"))

    async def stop(self) -> None:
        await cancel_and_wait([*self._tasks, *self.order.repairs])
        self._tasks = []

    # -- membership (the socket session and presence ask the hub) ------------------------

    @property
    def socket_count(self) -> int:
        return self.members.socket_count

    def join(self, conn: Connection, *groups: str) -> None:
        if not conn.groups:
            # A new socket: what is queued already is within the positions it is told next.
            conn.seen = self._end
        self.members.join(conn, *groups)

    def leave(self, conn: Connection, *groups: str) -> None:
        self.members.leave(conn, *groups)

    def leave_all(self, conn: Connection) -> None:
        self.members.leave_all(conn)

    def member_count(self, group: str) -> int:
        return self.members.member_count(group)

    def member_counts(self) -> dict[str, int]:
        return self.members.member_counts()

    # -- inbound: from the channel layer, in each stream's order --------------------------

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
            if numbered is not None:
                self.order.take_message(numbered.epoch, numbered.events)

    def enqueue(self, event: NumberedEvent) -> None:
        """Queue an encoded event for the sockets in its group, in seq order (seq 0: in no stream)."""
        self.order.take(event)

    def _queue(self, event: NumberedEvent) -> None:
        if event.stream == LEADERBOARD_GROUP:
            self.leaderboard_text = event.text
        if not self.members.wanted(event.stream):
            return  # every worker hears every event; this one has no socket that wants it
        self._queued.append(event)
        self._wake.set()

    @property
    def _end(self) -> int:
        """The number the next queued event will get."""
        return self._first + len(self._queued)

    def _reset_every_socket(self) -> None:
        self.leaderboard_text = None
        reset(self.members.of(FEED_GROUP))

    def position(self, stream: str) -> int | None:
        """The last seq of `stream` this hub took in order, if it has heard of the stream."""
        return self.order.position(stream)

    def note_positions(self, seqs: dict[str, int], epoch: str) -> None:
        """Positions read from the log after a socket joined these streams; fills unknown ones."""
        self.order.note_positions(seqs, epoch)

    async def positions_for_new_socket(self) -> tuple[str, int]:
        """The epoch and the feed's position for a socket that has just joined the feed."""
        return await self.order.positions_for_new_socket()

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
                await conn.write(text, framed, self._buffer_limit)
        conn.held = None

    # -- outbound to sockets ------------------------------------------------------------

    async def _deliver_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            started = loop.time()
            try:
                await self.deliver_round()
            except Exception:
                logger.exception("delivery failed")
            # What arrives after the round waits for the next one: that wait is the coalescing.
            await asyncio.sleep(max(0.0, self._flush_interval - (loop.time() - started)))

    async def deliver_round(self) -> None:
        """Write each socket its share of the events queued since its last frame, as one frame.

        Every SENDS_PER_YIELD writes the round yields and takes in what was queued meanwhile,
        for the sockets it has not written yet.
        """
        if not self._queued:
            return
        began = time.perf_counter()
        metrics.DELIVERY_AGE.observe(max(0.0, time.time() - _committed_at(self._queued[0])))
        end = self._end
        # Frames by the queue numbers of their events: buckets with the same share, and the
        # sockets of one bucket that had the same events before, share one frame.
        frames: dict[tuple[int, ...], tuple[str, bytes]] = {}
        sent = events_sent = 0
        for bucket, members in list(self.members.buckets()):
            since = -1
            frame: tuple[str, bytes] | None = None
            share_size = 0
            for conn in list(members):
                seen = conn.seen
                if seen >= end:
                    continue
                if seen != since:
                    since = seen
                    frame, share_size = self._frame(bucket, seen, end, frames)
                conn.seen = end
                if frame is None:
                    continue  # nothing new in this socket's groups
                if conn.held is not None:
                    conn.held.append(frame)
                elif conn.direct:
                    conn.write_frame(frame[1], self._buffer_limit)
                else:
                    await conn.deliver(frame[0], self._buffer_limit)
                sent += 1
                events_sent += share_size
                if sent % SENDS_PER_YIELD == 0:
                    await asyncio.sleep(0)
                    # What arrived meanwhile goes to the sockets not yet written, in this frame.
                    end, since = self._end, -1
        if self._forget_delivered():
            # Some socket lacks an event: one that came after the round passed it, or the socket
            # moved to another bucket during the round and was not written in it.
            self._wake.set()
        metrics.FRAMES_SENT.inc(sent)
        metrics.EVENTS_DELIVERED.inc(events_sent)
        if sent:
            took = time.perf_counter() - began
            metrics.DELIVERY_ROUND.observe(took)
            self._longest_round = max(self._longest_round, took)

    async def _report_rounds_forever(self) -> None:
        """Tell the publishers the longest round of each interval that had one."""
        while True:
            await asyncio.sleep(FOLLOW_INTERVAL_SECONDS)
            longest, self._longest_round = self._longest_round, 0.0
            if not longest:
                continue  # no round, nothing to follow: the report expires and the window is longest
            try:
                await self._log.areport_round(longest)
            except Exception:  # noqa: BLE001 - the window stays as it is; the next report may pass
                logger.warning("round report failed", exc_info=True)

    def _frame(
        self, bucket: frozenset[str], seen: int, end: int, frames: dict[tuple[int, ...], tuple[str, bytes]]
    ) -> tuple[tuple[str, bytes] | None, int]:
        """The frame of a bucket's share of the queued events numbered seen to end, and its size."""
        first = self._first
        share = tuple(n for n in range(seen, end) if self._queued[n - first].stream in bucket)
        if not share:
            return None, 0
        frame = frames.get(share)
        if frame is None:
            text = events.batch([self._queued[n - first].text for n in share])
            frame = frames[share] = (text, text_frame(text))
        return frame, len(share)

    def _forget_delivered(self) -> bool:
        """Drop the queued events every socket has had its share of; whether some still lacks one."""
        oldest = min((conn.seen for _, members in self.members.buckets() for conn in members), default=self._end)
        if oldest > self._first:
            del self._queued[: oldest - self._first]
            self._first = oldest
        return bool(self._queued)


def _committed_at(event: NumberedEvent) -> float:
    """The server time an event was built, right after its commit (its `ts`); one parse a round."""
    return float(orjson.loads(event.text).get("ts", time.time()))
