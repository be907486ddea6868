"""The hub repairs what it missed: a hole in the seqs, a loss no later event reveals, a dropped subscription.

Events are made to miss the hub the way they miss it in production: numbered and kept in the
stream log's backlog, but never heard by this process's subscription (published where no hub
listens, or published while Redis has just killed the hub's pub/sub connection).
"""

import contextlib
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from pytest_django.fixtures import SettingsWrapper

from accounts.models import User
from feed import services
from feed.models import Comment, Post
from ops import metrics
from realtime import channels_redis_wire as wire
from realtime import events, streams, streams_memory
from realtime.events import EVENTS_GROUP
from realtime.streams_redis import RedisStreamLog
from testing.plugin import eventually_async
from tests.factories import make_post

pytestmark = pytest.mark.django_db(transaction=True)


class _LayerNobodyHears:
    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        return None


async def publish_unheard(published: Sequence[events.Event], monkeypatch: pytest.MonkeyPatch) -> None:
    """Number and store events in this run's stream log, but let no hub hear them."""
    log = streams.get_log()
    if isinstance(log, RedisStreamLog):
        # The same keys (same prefix, same shard as the real log), a channel no hub subscribes to.
        hosts, prefix = wire.layer_hosts_and_prefix(django_settings.CHANNEL_LAYERS["default"])
        host = wire.shard_host(hosts, wire.group_channel(prefix, EVENTS_GROUP))
        deaf = RedisStreamLog(
            host=host,
            prefix=prefix,
            channel=wire.group_channel(prefix, "tests.nobody-listens"),
            backlog=int(django_settings.REALTIME["STREAM_BACKLOG"]),
            idle_expiry=int(django_settings.REALTIME["STREAM_IDLE_EXPIRY"]),
        )
        assert await deaf.apublish(published) == len(published)
        await deaf.aclose()
        return
    with monkeypatch.context() as patched:
        patched.setattr(streams_memory, "get_channel_layer", _LayerNobodyHears)
        assert await log.apublish(published) == len(published)


class Followed(NamedTuple):
    """A post, its stream, and the sockets that follow it with their positions when they did."""

    post: Post
    stream: str
    sockets: list[Any]
    starts: list[int]


@pytest.fixture
def follow_post(
    live_socket: Callable[..., Any], make_user: Callable[..., User], settings: SettingsWrapper
) -> Callable[..., Awaitable[Followed]]:
    """follow_post(sockets=1, **realtime): a new post followed by new sockets, REALTIME values set first."""

    async def follow(sockets: int = 1, **realtime: Any) -> Followed:
        settings.REALTIME = {**settings.REALTIME, **realtime}
        author = await sync_to_async(make_user)()
        post = await sync_to_async(make_post)(author)
        opened = []
        for _ in range(sockets):
            socket = await live_socket()
            await socket.request({"type": "subscribe", "post_ids": [post.pk]}, "subscribed")
            opened.append(socket)
        stream = f"post.{post.pk}"
        return Followed(post, stream, opened, [socket.positions[stream] for socket in opened])

    return follow


async def _likes(socket: Any, count: int) -> list[dict[str, Any]]:
    return [await socket.wait_for("post.likes") for _ in range(count)]


async def test_a_hole_in_the_seqs_is_filled_from_the_backlog(
    follow_post: Callable[..., Awaitable[Followed]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # No periodic check during the test: only the hole can reveal the missed event.
    post, stream, (socket,), (start,) = await follow_post(STREAM_CHECK_INTERVAL=3600.0)
    repairs = metrics.STREAM_REPAIRS._value.get()

    await publish_unheard([events.post_likes(post_id=post.pk, like_count=1, version=1)], monkeypatch)
    # Control: the unheard event really missed the hub; nothing reaches the socket by itself.
    await socket.assert_silent("post.likes", within=0.6)

    await streams.get_log().apublish([events.post_likes(post_id=post.pk, like_count=2, version=2)])
    received = await _likes(socket, 2)
    assert [(e["stream"], e["seq"], e["like_count"]) for e in received] == [
        (stream, start + 1, 1),
        (stream, start + 2, 2),
    ]
    assert metrics.STREAM_REPAIRS._value.get() == repairs + 1
    await socket.assert_silent("post.likes", within=0.3)


async def test_in_order_events_are_delivered_without_a_repair(
    follow_post: Callable[..., Awaitable[Followed]],
) -> None:
    """The positive control of the hole test: the same two events, both heard."""
    post, stream, (socket,), (start,) = await follow_post(STREAM_CHECK_INTERVAL=3600.0)
    repairs = metrics.STREAM_REPAIRS._value.get()
    log = streams.get_log()
    await log.apublish([events.post_likes(post_id=post.pk, like_count=1, version=1)])
    await log.apublish([events.post_likes(post_id=post.pk, like_count=2, version=2)])
    received = await _likes(socket, 2)
    assert [(e["seq"], e["like_count"]) for e in received] == [(start + 1, 1), (start + 2, 2)]
    assert received[0]["stream"] == stream
    assert metrics.STREAM_REPAIRS._value.get() == repairs


async def test_the_periodic_check_repairs_a_loss_no_later_event_reveals(
    follow_post: Callable[..., Awaitable[Followed]], monkeypatch: pytest.MonkeyPatch
) -> None:
    post, stream, (socket,), (start,) = await follow_post(STREAM_CHECK_INTERVAL=0.1)
    await publish_unheard(
        [
            events.post_likes(post_id=post.pk, like_count=1, version=1),
            events.post_likes(post_id=post.pk, like_count=2, version=2),
        ],
        monkeypatch,
    )
    received = await _likes(socket, 2)
    assert [(e["stream"], e["seq"], e["like_count"]) for e in received] == [
        (stream, start + 1, 1),
        (stream, start + 2, 2),
    ]


async def test_a_hole_the_backlog_no_longer_holds_closes_the_socket_with_4010(
    follow_post: Callable[..., Awaitable[Followed]],
    live_socket: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    post, stream, (socket,), (start,) = await follow_post(STREAM_CHECK_INTERVAL=3600.0, STREAM_BACKLOG=2)
    # Three missed events, a backlog of two: the first of them is gone for good.
    await publish_unheard(
        [events.post_likes(post_id=post.pk, like_count=n, version=n) for n in (1, 2, 3)],
        monkeypatch,
    )
    await streams.get_log().apublish([events.post_likes(post_id=post.pk, like_count=4, version=4)])
    assert await socket.wait_closed() == 4010
    assert [e for e in socket.events if e.get("stream") == stream] == [], "no event past the hole was delivered"
    # Control: a socket that resumes from where the first one stood learns to re-read the stream,
    # and one that follows the post afresh is served from the new position.
    again = await live_socket()
    answer = await again.resume({stream: start})
    assert answer["resync"] == [stream]
    await again.request({"type": "subscribe", "post_ids": [post.pk]}, "subscribed")
    assert again.positions[stream] == start + 4


# -- a real Redis dropping the hub's subscription ------------------------------------------


def _this_process_ports() -> set[int]:
    """The local TCP ports of this process's sockets (its Redis connections among them)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


# The storm goes on (up to MAX_ROUNDS) until a killed subscription has cost the hub an event.
MIN_ROUNDS = 8
MAX_ROUNDS = 60


def _kill_this_process_subscriptions(redis: Any) -> int:
    """CLIENT KILL this process's pub/sub connections only: the Redis is shared."""
    mine = _this_process_ports()
    killed = 0
    for client in redis.client_list(_type="pubsub"):
        if int(client["addr"].rsplit(":", 1)[1]) in mine:
            killed += redis.client_kill_filter(_id=client["id"])
    return killed


@pytest.mark.needs_services
async def test_sockets_end_with_every_event_when_redis_kills_the_hub_subscription(
    follow_post: Callable[..., Awaitable[Followed]], make_user: Callable[..., User]
) -> None:
    post, stream, sockets, starts = await follow_post(sockets=2, STREAM_CHECK_INTERVAL=0.2)
    assert isinstance(streams.get_log(), RedisStreamLog)
    hosts, prefix = wire.layer_hosts_and_prefix(django_settings.CHANNEL_LAYERS["default"])
    redis = wire.sync_client(wire.shard_host(hosts, wire.group_channel(prefix, EVENTS_GROUP)))
    repairs = metrics.STREAM_REPAIRS._value.get()

    def storm() -> list[int]:
        """Rounds of: kill the subscription, a like and a comment; until the hub had to repair."""
        killed: list[int] = []
        while len(killed) < MIN_ROUNDS or (len(killed) < MAX_ROUNDS and metrics.STREAM_REPAIRS._value.get() == repairs):
            killed.append(_kill_this_process_subscriptions(redis))
            fan = make_user()
            services.post_like_set(user=fan, post_id=post.pk)
            services.comment_create(author=fan, post_id=post.pk, content=f"from {fan.username}")
        return killed

    killed = await sync_to_async(storm)()
    assert sum(killed) > 0, "the hub's subscription was killed"

    fresh = await sync_to_async(Post.objects.get)(pk=post.pk)
    comment_ids = await sync_to_async(lambda: set(Comment.objects.filter(post=post).values_list("id", flat=True)))()
    assert fresh.like_count == len(comment_ids) == len(killed)

    def state(socket: Any) -> tuple[int | None, set[int]]:
        numbered = [e for e in socket.events if e.get("stream") == stream]
        likes = [e["like_count"] for e in numbered if e["type"] == "post.likes"]
        return (likes[-1] if likes else None), {e["comment"]["id"] for e in numbered if e["type"] == "comment.created"}

    async def read_what_came() -> bool:
        for socket in sockets:
            with contextlib.suppress(TimeoutError):
                await socket._read_frame(0.05)
        return all(state(socket) == (fresh.like_count, comment_ids) for socket in sockets)

    await eventually_async(read_what_came, "every socket equal to a fresh read", timeout=15.0)
    # Coalesced like counts may never have been numbered: the stream's position says how many were.
    final = (await streams.get_log().apositions([stream])).seqs[stream]
    for socket, start in zip(sockets, starts, strict=True):
        numbered = [e for e in socket.events if e.get("stream") == stream]
        assert [e["seq"] for e in numbered] == list(range(start + 1, final + 1)), "every event, once, in order"
        likes = [e for e in numbered if e["type"] == "post.likes"]
        comments = [e for e in numbered if e["type"] == "comment.created"]
        assert likes[-1]["like_count"] == fresh.like_count
        assert comments[-1]["comment_count"] == fresh.comment_count
    # Evidence the kills cost events on the way: the hub filled holes from the backlog.
    assert metrics.STREAM_REPAIRS._value.get() > repairs
