"""Each stream's events in seq order, once, whatever the channel layer lost on the way.

The hub hears every numbered event through one channel-layer subscription, and pub/sub drops
what is published while that subscription is down. `StreamOrder` keeps the last seq taken of
every stream: a repeat is dropped, and a hole (a seq more than one above) holds that stream's
later events while the missing ones are read from the stream log's backlog. A periodic check
compares the positions of the streams the hub has sockets in with the log's, so events lost
with nothing after them are repaired too. What cannot be repaired, and a change of epoch
(Redis lost its data), resets the sockets concerned: they reconnect, resume, and learn which
streams to read afresh.
"""

import asyncio
import logging
from collections.abc import Callable, Iterable

from ops import metrics
from realtime.events import FEED_GROUP, LEADERBOARD_GROUP, NumberedEvent
from realtime.streams import StreamLog

logger = logging.getLogger(__name__)

# Attempts to read a hole's events from the log (Redis down) before the sockets are reset.
REPAIR_ATTEMPTS = 10
REPAIR_RETRY_DELAY = 0.5


class StreamOrder:
    def __init__(
        self,
        log: StreamLog,
        *,
        release: Callable[[NumberedEvent], None],
        reset_stream: Callable[[str], None],
        reset_all: Callable[[], None],
        followed: Callable[[], Iterable[str]],
    ) -> None:
        self._log = log
        # Takes each event once, in order; resets the sockets of a stream, or every socket;
        # the streams that have sockets here.
        self._release = release
        self._reset_stream = reset_stream
        self._reset_all = reset_all
        self._followed = followed
        # The epoch of the positions below (None until the log first answered).
        self.epoch: str | None = None
        # The last seq taken in order, per stream heard.
        self._positions: dict[str, int] = {}
        # Streams with a hole being filled from the backlog: their later events, held.
        self._repairing: dict[str, list[NumberedEvent]] = {}
        self.repairs: set[asyncio.Task[None]] = set()
        # Per stream, the log's seq at the last check when it was ahead of this hub.
        self._behind: dict[str, int] = {}

    def take(self, event: NumberedEvent) -> None:
        """Release the event in its stream's order: now, after a repair, or never (a repeat)."""
        if event.seq:
            last = self._positions.get(event.stream)
            if last is not None:
                if event.seq <= last:
                    return  # a repeat: already taken (or replayed by a repair)
                if event.seq > last + 1 or event.stream in self._repairing:
                    self._hold_for_repair(event)
                    return
            self._positions[event.stream] = event.seq
        self._release(event)

    def take_message(self, epoch: str, numbered: Iterable[NumberedEvent]) -> None:
        """The events of one stream log call, numbered in `epoch`."""
        if epoch != self.epoch:
            self._epoch_changed(epoch)
        for event in numbered:
            self.take(event)

    # -- positions ------------------------------------------------------------------------

    def position(self, stream: str) -> int | None:
        """The last seq of `stream` taken in order, if the stream was heard of."""
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

    # -- repair ---------------------------------------------------------------------------

    def _hold_for_repair(self, event: NumberedEvent) -> None:
        held = self._repairing.get(event.stream)
        if held is None:
            held = self._start_repair(event.stream)
        held.append(event)

    def _start_repair(self, stream: str) -> list[NumberedEvent]:
        held = self._repairing[stream] = []
        metrics.STREAM_REPAIRS.inc()
        task = asyncio.create_task(self._repair(stream), name=f"hub-repair-{stream}")
        self.repairs.add(task)
        task.add_done_callback(self.repairs.discard)
        return held

    async def _repair(self, stream: str) -> None:
        """Read what was missed of `stream` from the backlog, then release what was held."""
        epoch = self.epoch
        position = self._positions[stream]
        backlog = None
        for attempt in range(REPAIR_ATTEMPTS):
            try:
                backlog = await self._log.aread_since({stream: position})
                break
            except Exception:  # noqa: BLE001 - Redis may be back in a moment
                logger.warning("stream repair read failed", extra={"stream": stream, "attempt": attempt})
                await asyncio.sleep(REPAIR_RETRY_DELAY)
        if self.epoch != epoch:
            return  # the epoch changed meanwhile; every socket was reset already
        held = self._repairing.pop(stream, [])
        if backlog is None or backlog.epoch != epoch or stream not in backlog.recovered:
            logger.warning("stream repair impossible; resetting its sockets", extra={"stream": stream})
            metrics.STREAM_RESETS.inc()
            newest = max([event.seq for event in held], default=position)
            self._positions[stream] = max(newest, backlog.seqs.get(stream, 0) if backlog else 0)
            self._reset_stream(stream)
            return
        for seq, text in backlog.recovered[stream]:
            self.take(NumberedEvent(stream, seq, text))
        for event in held:
            self.take(event)

    async def check_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - Redis down: the next check tries again
                logger.warning("stream check failed", exc_info=True)

    async def check(self) -> None:
        """Compare the positions of the streams followed here with the log's.

        A stream the log was ahead of at the previous check, and that this hub has not caught
        up with since, lost events on the way here: repair it from the backlog.
        """
        read = await self._log.apositions(list(self._followed()))
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
        self._reset_all()
