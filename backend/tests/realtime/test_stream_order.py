"""Each stream in seq order, once: repeats dropped, holes filled from the log, what cannot be filled reset.

StreamOrder runs here against the embedded stream log, filled with events no hub heard (as
the channel layer loses them); tests/realtime/test_hub_repair.py does the same end to end.
"""

import asyncio
from typing import Any

import pytest

from ops import metrics
from realtime import events, streams_memory
from realtime.events import NumberedEvent
from realtime.stream_order import StreamOrder
from realtime.streams_memory import MemoryStreamLog

STREAM = "post.1"


class _LayerNobodyHears:
    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        return None


class Order:
    """A StreamOrder with a log of its own, and a record of what it released and reset."""

    def __init__(self, *, backlog: int = 100, followed: tuple[str, ...] = (STREAM,)) -> None:
        self.backlog = backlog
        self.log = MemoryStreamLog(backlog=backlog, idle_expiry=3600)
        self.released: list[NumberedEvent] = []
        self.reset_streams: list[str] = []
        self.resets_of_all = 0
        self.order = StreamOrder(
            self.log,
            release=self.released.append,
            reset_stream=self.reset_streams.append,
            reset_all=self._reset_all,
            followed=lambda: followed,
        )

    def _reset_all(self) -> None:
        self.resets_of_all += 1

    async def publish_unheard(self, count: int, monkeypatch: pytest.MonkeyPatch) -> list[NumberedEvent]:
        """Number `count` events in the log's backlog (returned: those it still holds); none
        reaches the order by itself."""
        start = self.log.positions([STREAM]).seqs[STREAM]
        likes = [events.post_likes(post_id=1, like_count=n, version=start + n) for n in range(1, count + 1)]
        with monkeypatch.context() as patched:
            patched.setattr(streams_memory, "get_channel_layer", _LayerNobodyHears)
            assert await self.log.apublish(likes) == count
        backlog = await self.log.aread_since({STREAM: start + count - min(count, self.backlog)})
        return [NumberedEvent(STREAM, seq, text) for seq, text in backlog.recovered[STREAM]]

    async def repairs_done(self) -> None:
        await asyncio.gather(*self.order.repairs)

    def seqs(self) -> list[int]:
        return [event.seq for event in self.released]


@pytest.fixture
def order() -> Order:
    return Order()


def _known(order: Order, seq: int = 0) -> None:
    """The order heard of the stream at `seq`, in the log's epoch."""
    order.order.take_message(order.log.epoch, [])
    order.order.note_positions({STREAM: seq}, order.log.epoch)


async def test_events_in_order_are_released_and_a_repeat_is_dropped(
    order: Order, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = await order.publish_unheard(2, monkeypatch)
    _known(order)
    order.order.take(first)
    order.order.take(first)  # a repeat (a repair replayed it, say)
    order.order.take(second)
    assert order.seqs() == [1, 2]
    assert order.order.position(STREAM) == 2
    assert order.order.repairs == set()


async def test_an_event_in_no_stream_is_released_as_it_comes(order: Order) -> None:
    presence = NumberedEvent(STREAM, 0, events.post_viewers(post_id=1, count=2).text)
    order.order.take(presence)
    order.order.take(presence)
    assert order.released == [presence, presence]
    assert order.order.position(STREAM) is None


async def test_a_hole_holds_later_events_until_the_missed_ones_are_read_from_the_log(
    order: Order, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbered = await order.publish_unheard(4, monkeypatch)
    _known(order)
    repairs = metrics.STREAM_REPAIRS._value.get()
    order.order.take(numbered[0])
    order.order.take(numbered[3])  # 2 and 3 were lost on the way
    assert order.seqs() == [1], "nothing past the hole before the repair"
    await order.repairs_done()
    assert order.seqs() == [1, 2, 3, 4]
    assert metrics.STREAM_REPAIRS._value.get() == repairs + 1
    assert order.reset_streams == []


async def test_a_hole_the_backlog_no_longer_holds_resets_the_streams_sockets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order = Order(backlog=2)
    *_, fifth = await order.publish_unheard(5, monkeypatch)
    _known(order, seq=1)
    order.order.take(fifth)  # 2 to 4 lost, and the backlog keeps only 4 and 5
    await order.repairs_done()
    assert order.released == []
    assert order.reset_streams == [STREAM]
    assert order.order.position(STREAM) == 5, "later events go on from the newest"
    # Control: the next event is released as usual.
    [sixth] = await order.publish_unheard(1, monkeypatch)
    order.order.take(sixth)
    assert order.seqs() == [6]


async def test_the_check_repairs_a_stream_found_behind_twice(order: Order, monkeypatch: pytest.MonkeyPatch) -> None:
    _known(order)
    await order.publish_unheard(2, monkeypatch)
    await order.order.check()
    # Behind once may be events still on their way: no repair yet.
    assert order.order.repairs == set() and order.released == []
    await order.order.check()
    await order.repairs_done()
    assert order.seqs() == [1, 2]


async def test_the_check_leaves_a_stream_that_caught_up_in_between(
    order: Order, monkeypatch: pytest.MonkeyPatch
) -> None:
    _known(order)
    numbered = await order.publish_unheard(2, monkeypatch)
    await order.order.check()
    for event in numbered:  # the events arrive after all
        order.order.take(event)
    await order.order.check()
    assert order.order.repairs == set()
    assert order.seqs() == [1, 2]


async def test_a_new_epoch_resets_every_socket_but_the_first_one_heard_does_not(order: Order) -> None:
    order.order.take_message("first", [])
    assert order.resets_of_all == 0
    order.order.note_positions({STREAM: 7}, "first")
    assert order.order.position(STREAM) == 7
    order.order.take_message("second", [NumberedEvent(STREAM, 1, "{}")])
    assert order.resets_of_all == 1
    assert order.order.epoch == "second"
    assert order.order.position(STREAM) == 1, "positions of the old epoch are forgotten"


async def test_positions_of_another_epoch_are_not_noted(order: Order) -> None:
    order.order.take_message("current", [])
    order.order.note_positions({STREAM: 3}, "stale")
    assert order.order.position(STREAM) is None
    order.order.note_positions({STREAM: 3}, "current")
    assert order.order.position(STREAM) == 3
