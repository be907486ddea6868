"""The websocket protocol, end to end through the real ASGI app and the Redis channel layer."""

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import transaction

from accounts.models import User
from feed import services
from realtime import streams
from testing.plugin import ContractClient
from tests.factories import make_post

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.needs_services
def test_the_layer_is_redis() -> None:
    assert type(get_channel_layer()).__name__ == "RedisPubSubChannelLayer"


async def test_hello_then_leaderboard_on_connect(
    live_socket: Callable[..., Any], make_user: Callable[..., User]
) -> None:
    from config.asgi import application

    user = await sync_to_async(make_user)("sockuser")
    from testing.plugin import session_cookie_for

    cookie = await sync_to_async(session_cookie_for)(user)
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", cookie.encode())]
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from()
    epoch, feed_seq = hello.pop("epoch"), hello.pop("feed_seq")
    assert hello == {"type": "hello", "user": {"id": user.pk, "username": "sockuser"}}
    assert isinstance(epoch, str) and epoch and type(feed_seq) is int
    board = await communicator.receive_json_from()
    assert board["type"] == "leaderboard" and board["window_hours"] == 24 and board["entries"] == []
    assert (board["stream"], type(board["seq"])) == ("leaderboard", int)
    await communicator.disconnect()
    anonymous = await live_socket()  # the fixture checks hello and leaderboard itself
    assert anonymous.events == []


async def test_subscribe_returns_the_snapshot(live_socket: Callable[..., Any], make_user: Callable[..., User]) -> None:
    author, fan = await sync_to_async(make_user)(), await sync_to_async(make_user)()
    post = await sync_to_async(make_post)(author)
    await sync_to_async(services.post_like_set)(user=fan, post_id=post.pk)
    await sync_to_async(services.comment_create)(author=fan, post_id=post.pk, content="hi")
    socket = await live_socket()
    reply = await socket.request({"type": "subscribe", "post_ids": [post.pk, 999_999]}, "subscribed")
    # The like and the comment were numbered in the post's stream before the read: seq is
    # the stream's position, which a resume would start from.
    position = streams.get_log().positions([f"post.{post.pk}"]).seqs[f"post.{post.pk}"]
    assert position >= 2
    assert reply["posts"] == [
        {
            "id": post.pk,
            "like_count": 1,
            "comment_count": 1,
            "version": 1,
            "deleted": False,
            "seq": position,
            "viewers": 1,
        }
    ]


async def test_rest_like_reaches_followers_only(
    live_socket: Callable[..., Any], make_user: Callable[..., User], contract_client: Callable[..., ContractClient]
) -> None:
    author, fan = await sync_to_async(make_user)(), await sync_to_async(make_user)()
    post = await sync_to_async(make_post)(author)
    follower, bystander = await live_socket(), await live_socket()
    await follower.request({"type": "subscribe", "post_ids": [post.pk]}, "subscribed")
    client = await sync_to_async(contract_client)(fan)
    response = await sync_to_async(client.post)(f"/api/posts/{post.pk}/like/")
    assert response.json() == {"liked": True, "like_count": 1, "version": 1}
    event = await follower.wait_for("post.likes", post_id=post.pk)
    assert (event["like_count"], event["version"]) == (1, 1)
    assert isinstance(event["ts"], float)
    await bystander.assert_silent("post.likes")


async def test_a_new_post_reaches_every_socket(
    live_socket: Callable[..., Any], make_user: Callable[..., User], contract_client: Callable[..., ContractClient]
) -> None:
    author = await sync_to_async(make_user)("poster")
    client = await sync_to_async(contract_client)(author)
    socket = await live_socket()  # follows no post: post.created goes to every socket
    created = (await sync_to_async(client.post)("/api/posts/", {"content": "fresh"})).json()
    event = await socket.wait_for("post.created")
    assert event["post"] == {**created, "liked_by_me": False}


async def test_a_new_comment_reaches_the_posts_followers(
    live_socket: Callable[..., Any], make_user: Callable[..., User], contract_client: Callable[..., ContractClient]
) -> None:
    author = await sync_to_async(make_user)("poster")
    client = await sync_to_async(contract_client)(author)
    post = await sync_to_async(make_post)(author)
    socket = await live_socket()
    await socket.request({"type": "subscribe", "post_ids": [post.pk]}, "subscribed")
    comment = (await sync_to_async(client.post)(f"/api/posts/{post.pk}/comments/", {"content": "first!"})).json()
    event = await socket.wait_for("comment.created")
    assert event["comment"] == comment and event["comment_count"] == 1 and event["post_id"] == post.pk


async def test_a_comment_like_reaches_the_posts_followers(
    live_socket: Callable[..., Any], make_user: Callable[..., User], contract_client: Callable[..., ContractClient]
) -> None:
    author = await sync_to_async(make_user)("poster")
    client = await sync_to_async(contract_client)(author)
    post = await sync_to_async(make_post)(author)
    comment = (await sync_to_async(client.post)(f"/api/posts/{post.pk}/comments/", {"content": "first!"})).json()
    socket = await live_socket()
    await socket.request({"type": "subscribe", "post_ids": [post.pk]}, "subscribed")
    await sync_to_async(client.post)(f"/api/comments/{comment['id']}/like/")
    event = await socket.wait_for("comment.likes")
    assert (event["post_id"], event["comment_id"], event["like_count"], event["version"]) == (
        post.pk,
        comment["id"],
        1,
        1,
    )


async def test_leaderboard_push_after_a_like(live_socket: Callable[..., Any], make_user: Callable[..., User]) -> None:
    author, fan = await sync_to_async(make_user)("star"), await sync_to_async(make_user)()
    post = await sync_to_async(make_post)(author)
    socket = await live_socket()
    await sync_to_async(services.post_like_set)(user=fan, post_id=post.pk)
    event = await socket.wait_for("leaderboard", timeout=5)
    assert event["entries"] == [{"rank": 1, "user": {"id": author.pk, "username": "star"}, "karma": 5}]


async def test_rolled_back_write_sends_nothing(
    live_socket: Callable[..., Any], make_user: Callable[..., User], capture_pushes: list[Any]
) -> None:
    author, fan = await sync_to_async(make_user)(), await sync_to_async(make_user)()
    post = await sync_to_async(make_post)(author)
    socket = await live_socket()
    await socket.request({"type": "subscribe", "post_ids": [post.pk]}, "subscribed")

    class AbortError(Exception):
        pass

    def like_then_roll_back() -> None:
        with pytest.raises(AbortError), transaction.atomic():
            services.post_like_set(user=fan, post_id=post.pk)
            raise AbortError

    await sync_to_async(like_then_roll_back)()
    await socket.assert_silent("post.likes", within=1.0)
    assert [e for e in capture_pushes if e.group == f"post.{post.pk}"] == []
    # The same like, committed this time, does arrive: the silence above was not an accident.
    await sync_to_async(services.post_like_set)(user=fan, post_id=post.pk)
    assert (await socket.wait_for("post.likes"))["like_count"] == 1
    assert [e.group for e in capture_pushes if e.group == f"post.{post.pk}"] == [f"post.{post.pk}"]


async def test_unsubscribe_stops_events(live_socket: Callable[..., Any], make_user: Callable[..., User]) -> None:
    author, fan = await sync_to_async(make_user)(), await sync_to_async(make_user)()
    post = await sync_to_async(make_post)(author)
    socket, still_following = await live_socket(), await live_socket()
    for each in (socket, still_following):
        await each.request({"type": "subscribe", "post_ids": [post.pk]}, "subscribed")
    await socket.request({"type": "unsubscribe", "post_ids": [post.pk]}, "unsubscribed")
    await sync_to_async(services.post_like_set)(user=fan, post_id=post.pk)
    # Positive control: the like was published and reaches a socket that still follows...
    assert (await still_following.wait_for("post.likes", post_id=post.pk))["like_count"] == 1
    # ...and not the one that unsubscribed.
    await socket.assert_silent("post.likes")


async def test_foreign_origin_is_refused() -> None:
    from config.asgi import application

    communicator = WebsocketCommunicator(application, "/ws/", headers=[(b"origin", b"https://evil.example")])
    connected, _ = await communicator.connect()
    assert not connected


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_fields"),
        ('{"no": "type"}', "invalid_fields"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "subscribe"}', "invalid_fields"),
        ('{"type": "subscribe", "post_ids": "1"}', "invalid_fields"),
        ('{"type": "subscribe", "post_ids": [1, "2"]}', "invalid_fields"),
        ('{"type": "subscribe", "post_ids": [true]}', "invalid_fields"),
        ('{"type": "subscribe", "post_ids": [0]}', "invalid_fields"),
        ('{"type": "subscribe", "post_ids": ' + str(list(range(1, 102))) + "}", "too_many_follows"),
        ('{"type": "ping", "pad": "' + "x" * 70_000 + '"}', "frame_too_large"),
    ],
)
async def test_bad_frames_get_error_frames_and_the_socket_stays(
    live_socket: Callable[..., Any], frame: str, code: str
) -> None:
    socket = await live_socket()
    await socket.send(frame)
    error = await socket.wait_for("error")
    assert error["code"] == code and error["detail"]
    assert (await socket.request({"type": "ping"}, "pong")) == {"type": "pong"}


async def test_follow_cap_counts_across_subscribes(live_socket: Callable[..., Any]) -> None:
    socket = await live_socket()
    await socket.request({"type": "subscribe", "post_ids": list(range(1, 91))}, "subscribed")
    error = await socket.request({"type": "subscribe", "post_ids": list(range(91, 111))}, "error")
    assert error["code"] == "too_many_follows"


async def test_flooding_client_is_disconnected(live_socket: Callable[..., Any], settings: Any) -> None:
    settings.REALTIME = {**settings.REALTIME, "INBOUND_RATE": 1.0, "INBOUND_BURST": 5}
    socket = await live_socket()
    for _ in range(10):
        await socket.send({"type": "ping"})
    closed = None
    for _ in range(12):
        message = await asyncio.wait_for(socket.communicator.output_queue.get(), 2)
        if message["type"] == "websocket.close":
            closed = message
            break
    assert closed is not None and closed["code"] == 4008


async def test_a_message_that_reads_no_database_costs_no_database_hop(
    live_socket: Callable[..., Any], make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Channels' consumers close stale connections on the database thread before every
    message; the session leaves that to database_sync_to_async, around the reads it makes."""
    import channels.db

    closes = 0
    close_old_connections = channels.db.close_old_connections

    def counting() -> None:
        nonlocal closes
        closes += 1
        close_old_connections()

    monkeypatch.setattr(channels.db, "close_old_connections", counting)
    post = await sync_to_async(make_post)(await sync_to_async(make_user)())
    socket = await live_socket()
    before = closes
    for _ in range(5):
        await socket.request({"type": "ping"}, "pong")
    assert closes == before
    # Control: a subscribe reads the database, and the hop comes with that read.
    await socket.request({"type": "subscribe", "post_ids": [post.pk]}, "subscribed")
    assert closes > before
