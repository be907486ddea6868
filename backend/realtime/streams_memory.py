"""The stream log of the embedded mode: one process, numbers and backlogs in memory.

Same semantics as the Redis log (realtime/streams_redis.py): stale like counts dropped,
consecutive seqs, a capped backlog forgotten after a stream's idle expiry (its seq stays),
and an epoch that names this process's life. Events reach the hub through the channel
layer, as in the Redis mode.
"""

import asyncio
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping, Sequence

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from realtime.events import EVENTS_GROUP, Event, HubMessage, NumberedEvent, stamp
from realtime.streams import Backlog, Positions
from realtime.window import ROUND_REPORT_TTL_SECONDS

# Sends started from synchronous code on a loop's thread, held until they finish.
_sending: set["asyncio.Task[None]"] = set()


class MemoryStreamLog:
    def __init__(self, *, backlog: int, idle_expiry: float) -> None:
        self.epoch = uuid.uuid4().hex
        self._cap = backlog
        self._idle_expiry = idle_expiry
        self._lock = threading.Lock()
        self._seqs: dict[str, int] = {}
        self._backlogs: dict[str, deque[str]] = {}
        # The newest like-count version numbered per stream and object.
        self._versions: dict[str, dict[str, int]] = {}
        self._touched: dict[str, float] = {}
        # The longest delivery round reported, and until when that report counts.
        self._round: tuple[float, float] | None = None

    def _expire_idle(self, stream: str, now: float) -> None:
        touched = self._touched.get(stream)
        if touched is not None and now - touched >= self._idle_expiry:
            self._backlogs.pop(stream, None)
            self._versions.pop(stream, None)
            del self._touched[stream]

    def _number(self, events: Sequence[Event]) -> list[NumberedEvent]:
        numbered: list[NumberedEvent] = []
        now = time.monotonic()
        with self._lock:
            for event in events:
                stream = event.group
                self._expire_idle(stream, now)
                if event.coalesce_key is not None:
                    versions = self._versions.setdefault(stream, {})
                    if event.version <= versions.get(event.coalesce_key, -1):
                        continue
                    versions[event.coalesce_key] = event.version
                    self._touched[stream] = now
                seq = self._seqs.get(stream, 0) + 1
                self._seqs[stream] = seq
                text = stamp(event.text, stream, seq)
                backlog = self._backlogs.get(stream)
                if backlog is None:
                    backlog = self._backlogs[stream] = deque(maxlen=self._cap)
                backlog.append(text)
                self._touched[stream] = now
                numbered.append(NumberedEvent(stream, seq, text))
        return numbered

    async def _send(self, numbered: list[NumberedEvent]) -> None:
        layer = get_channel_layer()
        assert layer is not None, "CHANNEL_LAYERS has no default layer"
        await layer.group_send(EVENTS_GROUP, HubMessage(self.epoch, numbered).to_layer())

    async def apublish(self, events: Sequence[Event]) -> int:
        numbered = self._number(events)
        if numbered:
            await self._send(numbered)
        return len(numbered)

    def publish(self, events: Sequence[Event]) -> int:
        numbered = self._number(events)
        if numbered:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                # In a view's thread (sync_to_async) this sends on the serving loop: the in-memory
                # layer is not thread-safe and must only be used from the loop its hub runs on.
                async_to_sync(self._send)(numbered)
            else:
                # Called from synchronous code on an event loop's thread: send from the loop.
                sending = loop.create_task(self._send(numbered))
                _sending.add(sending)
                sending.add_done_callback(_sending.discard)
        return len(numbered)

    def positions(self, streams: Iterable[str]) -> Positions:
        with self._lock:
            return Positions(self.epoch, {stream: self._seqs.get(stream, 0) for stream in streams})

    async def apositions(self, streams: Iterable[str]) -> Positions:
        return self.positions(streams)

    def seq(self, stream: str) -> int:
        with self._lock:
            return self._seqs.get(stream, 0)

    async def aseq(self, stream: str) -> int:
        return self.seq(stream)

    async def aread_since(self, positions: Mapping[str, int]) -> Backlog:
        recovered: dict[str, list[tuple[int, str]]] = {}
        lost: list[str] = []
        seqs: dict[str, int] = {}
        now = time.monotonic()
        with self._lock:
            for stream, position in positions.items():
                self._expire_idle(stream, now)
                current = seqs[stream] = self._seqs.get(stream, 0)
                missed = current - position
                backlog = self._backlogs.get(stream, ())
                if missed < 0 or missed > len(backlog):
                    lost.append(stream)
                    continue
                texts = list(backlog)[len(backlog) - missed :] if missed else []
                recovered[stream] = [(position + 1 + i, text) for i, text in enumerate(texts)]
        return Backlog(self.epoch, seqs, recovered, lost)

    async def areport_round(self, seconds: float) -> None:
        now = time.monotonic()
        with self._lock:
            if self._round is None or self._round[1] <= now or seconds >= self._round[0]:
                self._round = (seconds, now + ROUND_REPORT_TTL_SECONDS)

    def round_time(self) -> float | None:
        with self._lock:
            if self._round is None or self._round[1] <= time.monotonic():
                return None
            return self._round[0]

    async def around_time(self) -> float | None:
        return self.round_time()

    async def aclose(self) -> None:
        return None
