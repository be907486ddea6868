"""A stale state plus the events equals a fresh read, for every event the server sends.

In the manner of Zulip's verify_action: a client reads the feed, its threads and the
leaderboard over REST and follows every post; an action goes through the REST API; the events
its socket receives are applied with the contract's client rules (testing.client_model); the
result must equal a fresh read. One case per event type, so a failure names its event.
"""

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from accounts.models import User
from feed import services
from realtime import events
from testing.convergence import Follower, fresh_view
from testing.plugin import ContractClient

pytestmark = pytest.mark.django_db(transaction=True)

Clients = Callable[..., ContractClient]


@dataclass
class World:
    """An author's post with a comment by a fan and the author's reply under it, liked by an early fan."""

    author: User
    fan: User
    early: User
    post_id: int
    comment_id: int
    reply_id: int


def build_world(make_user: Callable[..., User]) -> World:
    author, fan, early = make_user(), make_user(), make_user()
    post = services.post_create(author=author, content="a post to talk about")
    comment, _ = services.comment_create(author=fan, post_id=post.pk, content="first")
    reply, _ = services.comment_create(author=author, post_id=post.pk, content="thanks", parent_id=comment.pk)
    services.post_like_set(user=early, post_id=post.pk)
    # No runtime serves yet: run the refresh each like asks for, as a worker's ticker would.
    services.leaderboard_refresh()
    return World(author, fan, early, post.pk, comment.pk, reply.pk)


def _ok(response: Any) -> None:
    assert response.status_code in (200, 201, 204), response.content


@dataclass(frozen=True)
class Case:
    name: str
    event_type: str
    action: Callable[[World, Clients], object]
    prepare: Callable[[World], object] = lambda world: None


CASES = [
    Case("post.created", "post.created", lambda w, c: _ok(c(w.fan).post("/api/posts/", {"content": "news"}))),
    Case("post.likes", "post.likes", lambda w, c: _ok(c(w.fan).post(f"/api/posts/{w.post_id}/like/"))),
    Case("post.likes-unlike", "post.likes", lambda w, c: _ok(c(w.early).delete(f"/api/posts/{w.post_id}/like/"))),
    Case(
        "comment.created",
        "comment.created",
        lambda w, c: _ok(
            c(w.fan).post(f"/api/posts/{w.post_id}/comments/", {"content": "deeper", "parent_id": w.reply_id})
        ),
    ),
    Case("comment.likes", "comment.likes", lambda w, c: _ok(c(w.author).post(f"/api/comments/{w.comment_id}/like/"))),
    Case(
        "comment.likes-unlike",
        "comment.likes",
        lambda w, c: _ok(c(w.fan).delete(f"/api/comments/{w.reply_id}/like/")),
        prepare=lambda w: services.comment_like_set(user=w.fan, comment_id=w.reply_id),
    ),
    Case("leaderboard", "leaderboard", lambda w, c: _ok(c(w.fan).post(f"/api/posts/{w.post_id}/like/"))),
    Case("post.deleted", "post.deleted", lambda w, c: _ok(c(w.author).delete(f"/api/posts/{w.post_id}/"))),
    Case("comment.deleted", "comment.deleted", lambda w, c: _ok(c(w.fan).delete(f"/api/comments/{w.comment_id}/"))),
    Case(
        "post.restored",
        "post.restored",
        lambda w, c: services.post_restore(post_id=w.post_id),
        prepare=lambda w: services.post_delete(actor=w.author, post_id=w.post_id),
    ),
    Case(
        "comment.restored",
        "comment.restored",
        lambda w, c: services.comment_restore(comment_id=w.comment_id),
        prepare=lambda w: services.comment_delete(actor=w.fan, comment_id=w.comment_id),
    ),
]


async def _started_follower(
    case: Case, live_socket: Callable[..., Any], make_user: Callable[..., User], contract_client: Clients
) -> tuple[World, Follower]:
    world = await sync_to_async(build_world)(make_user)
    await sync_to_async(case.prepare)(world)
    await sync_to_async(services.leaderboard_refresh)()
    follower = Follower(live_socket, await sync_to_async(contract_client)())
    await follower.start()
    await follower.pump()
    return world, follower


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_a_stale_state_plus_the_events_equals_a_fresh_read(
    case: Case, live_socket: Callable[..., Any], make_user: Callable[..., User], contract_client: Clients
) -> None:
    world, follower = await _started_follower(case, live_socket, make_user, contract_client)
    await sync_to_async(case.action)(world, contract_client)
    await follower.wait_for_type(case.event_type)
    await follower.converge(await fresh_view(follower.client, set(follower.model.threads)))
    assert case.event_type in {event["type"] for event in follower.model.applied}


def test_every_numbered_event_the_server_builds_has_a_case() -> None:
    built = {
        name.replace("_", ".", 1)
        for name, builder in inspect.getmembers(events, inspect.isfunction)
        if inspect.signature(builder).return_annotation in (events.Event, "Event")
    }
    assert "post.created" in built and "comment.likes" in built  # the introspection finds builders
    # post.viewers is presence, outside every stream: nothing to converge on.
    assert built - {"post.viewers"} == {case.event_type for case in CASES}


async def test_positive_control_a_missed_event_is_caught_by_the_comparison(
    live_socket: Callable[..., Any], make_user: Callable[..., User], contract_client: Clients
) -> None:
    case = CASES[1]
    world, follower = await _started_follower(case, live_socket, make_user, contract_client)
    follower.drop = lambda event: event["type"] == "post.likes"
    await sync_to_async(case.action)(world, contract_client)
    await follower.wait_for_type("post.likes")
    with pytest.raises(AssertionError, match="did not converge"):
        await follower.converge(await fresh_view(follower.client, set(follower.model.threads)), timeout=1.0)


async def test_a_hole_in_the_seqs_is_resumed_and_converges(
    live_socket: Callable[..., Any], make_user: Callable[..., User], contract_client: Clients
) -> None:
    """The model's hole rule at work: the first of two likes is lost, the second reveals it."""
    world, follower = await _started_follower(CASES[1], live_socket, make_user, contract_client)
    lost: list[dict[str, Any]] = []

    def lose_first_like(event: dict[str, Any]) -> bool:
        if event["type"] == "post.likes" and not lost:
            lost.append(event)
            return True
        return False

    follower.drop = lose_first_like
    fan_client = await sync_to_async(contract_client)(world.fan)
    _ok(await sync_to_async(fan_client.post)(f"/api/posts/{world.post_id}/like/"))
    await follower.wait_for_type("post.likes")
    _ok(await sync_to_async(fan_client.post)(f"/api/comments/{world.comment_id}/like/"))
    await follower.converge(await fresh_view(follower.client, set(follower.model.threads)))
    assert any(event["type"] == "resumed" for event in follower.received)
    assert [e for e in follower.model.applied if e["type"] == "post.likes"] == lost  # replayed as it was
