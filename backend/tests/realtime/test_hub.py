"""The hub's routing and delivery rounds, with sockets as the hub sees them (their ASGI send recorded).

The hub is not started here: events are enqueued by hand and each round is run by the test,
so what a socket got is known exactly. The real server's direct road is in test_real_server.py.
"""

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from channels.layers import get_channel_layer
from prometheus_client import REGISTRY

from ops import metrics
from realtime import events
from realtime import hub as hub_module
from realtime.connection import CLOSE_STREAMS_RESET, Connection
from realtime.events import FEED_GROUP, LEADERBOARD_GROUP, NumberedEvent
from realtime.hub import Hub
from realtime.streams_memory import MemoryStreamLog
from testing.plugin import eventually_async


class Socket:
    """A socket's frames and close codes, as its ASGI send and close received them."""

    def __init__(self, hub: Hub, *groups: str) -> None:
        self.frames: list[Any] = []
        self.closed: list[int] = []
        self.on_send: Callable[[dict[str, Any]], None] | None = None
        self.connection = Connection(self._send, close=self._close)
        hub.join(self.connection, *groups)

    async def _send(self, message: dict[str, Any]) -> None:
        self.frames.append(orjson.loads(message["text"]))
        if self.on_send is not None:
            self.on_send(message)

    def events(self) -> list[Any]:
        """Every event received, batches unpacked."""
        return [e for frame in self.frames for e in (frame["events"] if frame["type"] == "batch" else [frame])]

    async def _close(self, code: int) -> None:
        self.closed.append(code)


@pytest.fixture
def hub() -> Hub:
    layer = get_channel_layer()
    assert layer is not None
    return Hub(layer, MemoryStreamLog(backlog=100, idle_expiry=3600), flush_interval=0.0, buffer_limit=1 << 20)


def _numbered(event: events.Event, seq: int) -> NumberedEvent:
    return NumberedEvent(event.group, seq, events.stamp(event.text, event.group, seq))


def _likes(post_id: int, seq: int) -> NumberedEvent:
    return _numbered(events.post_likes(post_id=post_id, like_count=seq, version=seq), seq)


async def test_each_socket_gets_its_share_of_a_round_as_one_frame(hub: Hub) -> None:
    followers = [Socket(hub, FEED_GROUP, "post.1") for _ in range(2)]
    feed_only = Socket(hub, FEED_GROUP)
    other_post = Socket(hub, "post.2")
    frames_sent = metrics.FRAMES_SENT._value.get()
    hub.enqueue(_numbered(events.post_created({"id": 9}), 1))
    hub.enqueue(_likes(1, 1))
    hub.enqueue(_likes(3, 1))  # a post nobody here follows
    await hub.deliver_round()
    for follower in followers:
        [frame] = follower.frames
        assert frame["type"] == "batch"
        assert [(e["type"], e["stream"]) for e in frame["events"]] == [
            ("post.created", "feed"),
            ("post.likes", "post.1"),
        ]
    assert followers[0].frames == followers[1].frames
    assert [(e["type"], e["seq"]) for e in feed_only.frames] == [("post.created", 1)], "one event goes unbatched"
    assert other_post.frames == []
    assert metrics.FRAMES_SENT._value.get() == frames_sent + 3


async def test_events_queued_during_a_round_reach_the_sockets_it_has_not_written_yet(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub_module, "SENDS_PER_YIELD", 2)
    sockets = [Socket(hub, FEED_GROUP) for _ in range(5)]
    arrivals = iter([_numbered(events.post_deleted(post_id=2), 2)])

    def an_event_arrives(message: dict[str, Any]) -> None:
        # The first write of the round: the next event arrives while the round is under way.
        arrived = next(arrivals, None)
        if arrived is not None:
            hub.enqueue(arrived)

    for socket in sockets:
        socket.on_send = an_event_arrives
    hub.enqueue(_numbered(events.post_deleted(post_id=1), 1))
    await hub.deliver_round()
    got = sorted([[e["post_id"] for e in socket.events()] for socket in sockets])
    # Two sockets were written before the round yielded; the three after it got both events.
    assert got == [[1], [1], [1, 2], [1, 2], [1, 2]]
    assert sum(len(socket.frames) for socket in sockets) == 5, "one frame a socket"
    await hub.deliver_round()
    assert [[e["post_id"] for e in socket.events()] for socket in sockets] == [[1, 2]] * 5, "each once, in order"
    assert sum(len(socket.frames) for socket in sockets) == 7, "the next round wrote only the two that lacked it"
    await hub.deliver_round()
    assert sum(len(socket.frames) for socket in sockets) == 7, "nothing left to write"


async def test_a_socket_that_follows_more_during_a_round_still_gets_its_events(hub: Hub) -> None:
    written_first = [Socket(hub, FEED_GROUP) for _ in range(2)]
    mover = Socket(hub, FEED_GROUP, "post.3")  # in a bucket the round reaches after theirs

    def the_mover_follows_a_post(message: dict[str, Any]) -> None:
        # A subscribe while the round writes the first bucket moves the mover to a new bucket.
        if "post.7" not in mover.connection.groups:
            hub.join(mover.connection, "post.7")

    for socket in written_first:
        socket.on_send = the_mover_follows_a_post
    hub.enqueue(_numbered(events.post_deleted(post_id=1), 1))
    hub._wake.clear()  # as the delivery loop does before each round
    await hub.deliver_round()
    assert mover.frames == [], "the round passed it by"
    assert [[e["post_id"] for e in socket.events()] for socket in written_first] == [[1], [1]], "control"
    assert hub._wake.is_set(), "another round is due"
    hub._wake.clear()
    await hub.deliver_round()
    assert [e["post_id"] for e in mover.events()] == [1]
    assert not hub._wake.is_set(), "control: every socket has had its share, no round is due"


async def test_a_new_socket_gets_only_what_is_queued_after_it_joined(hub: Hub) -> None:
    # What was queued before it joined is within the positions its hello gives it.
    before = Socket(hub, FEED_GROUP)
    hub.enqueue(_numbered(events.post_deleted(post_id=1), 1))
    joined = Socket(hub, FEED_GROUP)
    hub.enqueue(_numbered(events.post_deleted(post_id=2), 2))
    await hub.deliver_round()
    assert [e["post_id"] for e in joined.events()] == [2]
    assert [e["post_id"] for e in before.events()] == [1, 2], "control: the socket there before got both"


async def test_a_round_with_nothing_waiting_sends_nothing(hub: Hub) -> None:
    socket = Socket(hub, FEED_GROUP)
    await hub.deliver_round()
    assert socket.frames == []
    # Control: with an event waiting, the same round delivers it.
    hub.enqueue(_numbered(events.post_deleted(post_id=4), 1))
    await hub.deliver_round()
    assert [e["type"] for e in socket.frames] == ["post.deleted"]


async def test_a_held_socket_gets_the_rounds_frames_after_its_reply(hub: Hub) -> None:
    held, free = Socket(hub, FEED_GROUP), Socket(hub, FEED_GROUP)
    hub.hold(held.connection)
    hub.enqueue(_numbered(events.post_created({"id": 1}), 1))
    await hub.deliver_round()
    assert held.frames == []
    assert [e["type"] for e in free.frames] == ["post.created"], "control: the round went out"
    await held._send({"text": events.pong()})  # the reply that had to come first
    await hub.release(held.connection)
    assert [e["type"] for e in held.frames] == ["pong", "post.created"]
    # Released: the next round reaches it at once.
    hub.enqueue(_numbered(events.post_deleted(post_id=1), 2))
    await hub.deliver_round()
    assert [e["type"] for e in held.frames][-1] == "post.deleted"


async def test_a_socket_that_left_every_group_gets_nothing_more(hub: Hub) -> None:
    leaving, staying = Socket(hub, FEED_GROUP, "post.1"), Socket(hub, FEED_GROUP, "post.1")
    hub.leave_all(leaving.connection)
    assert hub.member_counts() == {FEED_GROUP: 1, "post.1": 1}
    hub.enqueue(_likes(1, 1))
    await hub.deliver_round()
    assert leaving.frames == []
    assert [e["type"] for e in staying.frames] == ["post.likes"]


async def test_the_last_leaderboard_is_kept_until_the_epoch_changes_and_the_feed_is_reset(hub: Hub) -> None:
    socket = Socket(hub, FEED_GROUP, LEADERBOARD_GROUP)
    hub.order.take_message("first", [])
    board = _numbered(events.leaderboard(window_hours=24, entries=[], version=1), 1)
    hub.enqueue(board)
    assert hub.leaderboard_text == board.text
    assert socket.closed == []
    hub.order.take_message("second", [])  # the stream log lost its numbers
    assert hub.leaderboard_text is None
    await eventually_async(lambda: socket.closed == [CLOSE_STREAMS_RESET], "the feed's sockets were reset")
    assert not socket.connection.open


def _observed(name: str) -> tuple[float, float]:
    """A histogram's count and sum so far."""
    return REGISTRY.get_sample_value(f"{name}_count") or 0.0, REGISTRY.get_sample_value(f"{name}_sum") or 0.0


async def test_a_round_records_its_length_and_how_old_its_first_event_was(hub: Hub) -> None:
    socket = Socket(hub, FEED_GROUP)
    rounds, ages = _observed("karmafeed_delivery_round_seconds"), _observed("karmafeed_delivery_age_seconds")
    await hub.deliver_round()
    assert (_observed("karmafeed_delivery_round_seconds"), _observed("karmafeed_delivery_age_seconds")) == (
        rounds,
        ages,
    ), "nothing waited"
    # An event committed a minute ago: its round starts at least that old.
    old = events.post_deleted(post_id=4)
    minute_ago = orjson.loads(old.text)["ts"] - 60
    text = orjson.dumps({**orjson.loads(old.text), "ts": minute_ago}).decode()
    hub.enqueue(NumberedEvent(FEED_GROUP, 1, events.stamp(text, FEED_GROUP, 1)))
    hub.enqueue(_numbered(events.post_deleted(post_id=5), 2))
    await hub.deliver_round()
    assert [e["post_id"] for e in socket.frames[0]["events"]] == [4, 5]
    count, total = _observed("karmafeed_delivery_age_seconds")
    assert count == ages[0] + 1 and total - ages[1] >= 60
    assert _observed("karmafeed_delivery_round_seconds")[0] == rounds[0] + 1


async def test_a_hub_reports_its_rounds_when_the_window_follows_them() -> None:
    layer = get_channel_layer()
    assert layer is not None
    logs = [MemoryStreamLog(backlog=100, idle_expiry=3600) for _ in range(2)]
    hubs = [
        Hub(layer, log, flush_interval=0.0, buffer_limit=1 << 20, report_rounds=follows)
        for log, follows in zip(logs, [True, False], strict=True)
    ]
    for running in hubs:
        await running.start()
    try:
        sockets = [Socket(running, FEED_GROUP) for running in hubs]
        for running in hubs:
            running.enqueue(_numbered(events.post_deleted(post_id=1), 1))
        await eventually_async(lambda: all(socket.frames for socket in sockets), "both hubs delivered a round")
        await eventually_async(lambda: logs[0].round_time() is not None, "the round reported")
        assert 0 < (logs[0].round_time() or 0) < 5
        # The hub whose publishers keep a fixed window delivered its round and reported nothing.
        assert logs[1].round_time() is None
    finally:
        for running in hubs:
            await running.stop()
