"""resume / resumed: what a client missed comes back from the backlog, without a database read."""

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from accounts.models import User
from feed import services
from realtime import streams
from testing.plugin import eventually_async, resume_counters
from tests.factories import make_post

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_socket_that_was_away_recovers_what_it_missed_without_a_query(
    live_socket: Callable[..., Any], make_user: Callable[..., User]
) -> None:
    author, fan = await sync_to_async(make_user)(), await sync_to_async(make_user)()
    post = await sync_to_async(make_post)(author)
    stream = f"post.{post.pk}"
    away = await live_socket()
    await away.request({"type": "subscribe", "post_ids": [post.pk]}, "subscribed")
    positions, epoch = dict(away.positions), away.epoch
    await away.communicator.disconnect()
    # While it is away: a comment, a like, a new post.
    await sync_to_async(services.comment_create)(author=fan, post_id=post.pk, content="while away")
    await sync_to_async(services.post_like_set)(user=fan, post_id=post.pk)
    await sync_to_async(services.post_create)(author=fan, content="a new post")
    # The like count may wait the publisher's coalescing window before it is numbered; a socket
    # that resumes before then gets it live, not from the backlog.
    await eventually_async(
        lambda: streams.get_log().positions([stream]).seqs[stream] == positions[stream] + 2, "the like numbered"
    )
    back = await live_socket()
    before = resume_counters()
    answer = await back.resume(positions, epoch=epoch)
    assert sorted(answer["recovered"]) == sorted(positions) and answer["resync"] == []
    comment = await back.wait_for("comment.created", post_id=post.pk)
    like = await back.wait_for("post.likes", post_id=post.pk)
    created = await back.wait_for("post.created")
    assert (comment["stream"], comment["seq"], like["seq"]) == (stream, positions[stream] + 1, positions[stream] + 2)
    assert like["like_count"] == 1 and created["seq"] == positions["feed"] + 1
    # Only the resume's own statements count, not the leaderboard ticker's after the like; the
    # counter's positive control is in tests/ops/test_resume_queries.py.
    queries, resumes = resume_counters()
    assert (queries - before[0], resumes - before[1]) == (0, 1), "a resume within the backlog reads no database"


async def test_what_cannot_be_recovered_is_named_in_resync(live_socket: Callable[..., Any]) -> None:
    socket = await live_socket()
    feed = socket.positions["feed"]
    answer = await socket.resume({"feed": feed + 5, "post.7": 0, "no-such-stream": 3})
    # Ahead of the stream, and well-formed but unknown: resync. post.7 never had an event: at 0.
    assert answer == {"type": "resumed", "recovered": ["post.7"], "resync": ["no-such-stream", "feed"]}
    stale = await socket.resume({"feed": feed}, epoch="an-epoch-long-gone")
    assert stale["recovered"] == [] and stale["resync"] == ["feed"]
    # Positive control: the same position with the right epoch is recovered.
    assert (await socket.resume({"feed": feed}))["recovered"] == ["feed"]


@pytest.mark.parametrize(
    "message",
    [
        {"type": "resume", "positions": {"feed": 0}},
        {"type": "resume", "epoch": "e", "positions": [["feed", 0]]},
        {"type": "resume", "epoch": "e", "positions": {"feed": -1}},
        {"type": "resume", "epoch": "e", "positions": {"feed": True}},
        {"type": "resume", "epoch": "e", "positions": {"no spaces": 0}},
    ],
)
async def test_a_malformed_resume_is_an_error(live_socket: Callable[..., Any], message: dict[str, Any]) -> None:
    socket = await live_socket()
    error = await socket.request(message, "error")
    assert error["code"] == "invalid_fields"
    await socket.assert_silent("resumed", within=0.3)
