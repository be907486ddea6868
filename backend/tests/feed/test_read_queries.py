"""The REST reads: the query count each selector states, and answers byte for byte what the
model presenters (the shape services push in events) make of the same rows."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import orjson
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from feed import presenters, selectors, services
from feed.models import Comment, CommentLike, Post, PostLike
from testing.plugin import ContractClient
from tests.factories import make_post

pytestmark = pytest.mark.django_db


def queries(read: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as captured:
        read()
    return len(captured)


@pytest.fixture
def rows(make_user: Callable[..., User]) -> dict[str, Any]:
    """Posts (one deleted), a thread with a deleted comment and nested replies, likes by the reader."""
    author, reader = make_user(), make_user()
    posts = [make_post(author, f"post {i}") for i in range(4)]
    thread = posts[-1]
    first, _ = services.comment_create(author=author, post_id=thread.pk, content="first")
    reply, _ = services.comment_create(author=reader, post_id=thread.pk, content="reply", parent_id=first.pk)
    services.comment_create(author=author, post_id=thread.pk, content="nested", parent_id=reply.pk)
    gone, _ = services.comment_create(author=author, post_id=thread.pk, content="gone")
    services.comment_delete(actor=author, comment_id=gone.pk)
    services.post_like_set(user=reader, post_id=thread.pk)
    services.post_like_set(user=reader, post_id=posts[0].pk)
    services.comment_like_set(user=reader, comment_id=reply.pk)
    services.post_delete(actor=author, post_id=posts[1].pk)
    return {"author": author, "reader": reader, "posts": posts, "thread": thread}


@pytest.mark.parametrize("logged_in", [True, False])
def test_each_read_runs_the_queries_its_docstring_states(rows: dict[str, Any], logged_in: bool) -> None:
    viewer = rows["reader"] if logged_in else None
    thread = rows["thread"]
    page = selectors.feed_page(viewer=viewer, before=None, size=2)
    assert len(page) == 3  # size + 1, the deleted post left out
    assert queries(lambda: selectors.feed_page(viewer=viewer, before=None, size=20)) == 1
    position = (page[-1][4], page[-1][0])
    assert queries(lambda: selectors.feed_page(viewer=viewer, before=position, size=20)) == 1
    assert queries(lambda: selectors.post_get(post_id=thread.pk, viewer=viewer)) == 1
    assert queries(lambda: selectors.thread_comments(post_id=thread.pk, viewer=viewer)) == 1
    assert queries(lambda: selectors.thread_get(post_id=thread.pk, viewer=viewer)) == 2
    assert queries(lambda: selectors.user_profile(username=rows["author"].username)) == 1
    assert queries(lambda: selectors.leaderboard_top()) == 1


def expected_post(post: Post, viewer: User) -> dict[str, Any]:
    liked = PostLike.objects.filter(post=post, user=viewer).exists()
    return presenters.post_data(post, liked_by_me=liked)


def expected_tree(post: Post, viewer: User) -> list[dict[str, Any]]:
    liked = set(CommentLike.objects.filter(user=viewer).values_list("comment_id", flat=True))
    nodes = {
        c.pk: {**presenters.comment_data(c, liked_by_me=c.pk in liked), "replies": []}
        for c in Comment.all_objects.filter(post=post).select_related("author").order_by("id")
    }
    roots: list[dict[str, Any]] = []
    for node in nodes.values():
        (roots if node["parent_id"] is None else nodes[node["parent_id"]]["replies"]).append(node)
    return roots


def test_feed_page_is_byte_for_byte_the_model_presenters_answer(rows: dict[str, Any]) -> None:
    reader = rows["reader"]
    client = ContractClient(reader)
    answer = client.get("/api/posts/?page_size=2")
    body = orjson.loads(answer.content)
    live = Post.objects.select_related("author").order_by("-created_at", "-id")
    results = [expected_post(p, reader) for p in live[:2]]
    assert any(r["liked_by_me"] for r in results)  # the viewer's like shows, and is compared
    expected = {"results": results, "next": body["next"], "stream_seq": body["stream_seq"]}
    assert answer.content == orjson.dumps(expected, option=presenters.JSON_OPTIONS)
    rest = client.get(body["next"]).json()["results"]
    assert [r["id"] for r in rest] == [p.pk for p in live[2:]]
    assert rows["posts"][1].pk not in [r["id"] for r in body["results"] + rest]  # deleted: not listed


def test_thread_is_byte_for_byte_the_model_presenters_answer(rows: dict[str, Any]) -> None:
    reader, thread = rows["reader"], rows["thread"]
    answer = ContractClient(reader).get(f"/api/posts/{thread.pk}/")
    stream_seq = orjson.loads(answer.content)["stream_seq"]
    thread.refresh_from_db()
    expected = {"stream_seq": stream_seq, **expected_post(thread, reader), "comments": expected_tree(thread, reader)}
    assert answer.content == orjson.dumps(expected, option=presenters.JSON_OPTIONS)
    tree = expected["comments"]
    assert tree[0]["replies"][0]["liked_by_me"] is True and tree[0]["liked_by_me"] is False
    assert tree[1]["deleted"] is True and tree[1]["author"] is None and tree[1]["content"] == ""


def test_a_deleted_post_reads_as_a_placeholder(rows: dict[str, Any]) -> None:
    deleted = rows["posts"][1]
    body = ContractClient(rows["reader"]).get(f"/api/posts/{deleted.pk}/").json()
    assert body["deleted"] is True and body["author"] is None and body["content"] == ""
    live = ContractClient(rows["reader"]).get(f"/api/posts/{rows['posts'][0].pk}/").json()
    assert live["deleted"] is False and live["author"]["id"] == rows["author"].pk


def test_feed_pages_split_posts_of_the_same_instant_without_loss(alice: User, as_alice: ContractClient) -> None:
    at = timezone.now() - timedelta(minutes=1)
    ids = [Post.objects.create(author=alice, content=f"p{i}", created_at=at).pk for i in range(5)]
    seen: list[int] = []
    url: str | None = "/api/posts/?page_size=2"
    while url:
        page = as_alice.get(url).json()
        seen += [p["id"] for p in page["results"]]
        url = page["next"]
    assert seen == sorted(ids, reverse=True)


def test_a_profile_is_found_whatever_the_case_of_the_name(rows: dict[str, Any]) -> None:
    author = rows["author"]
    client = ContractClient(rows["reader"])
    exact = client.get(f"/api/users/{author.username}/")
    assert exact.status_code == 200
    expected = {"id": author.pk, "username": author.username, "karma_24h": 10, "karma_total": 10}
    assert exact.content == orjson.dumps(expected)
    assert client.get(f"/api/users/{author.username.upper()}/").content == exact.content
    assert client.get(f"/api/users/{author.username}x/").status_code == 404


def test_profile_karma_counts_the_window_and_leaves_out_self_likes(make_user: Callable[..., User]) -> None:
    author, fan = make_user(), make_user()
    old, new = make_post(author), make_post(author)
    services.post_like_set(user=fan, post_id=new.pk)
    services.post_like_set(user=author, post_id=new.pk)  # a self-like gives nothing
    services.post_like_set(user=fan, post_id=old.pk)
    PostLike.objects.filter(post=old).update(created_at=timezone.now() - timedelta(hours=25))
    profile = selectors.user_profile(username=author.username)
    assert profile is not None
    assert (profile.karma_24h, profile.karma_total) == (5, 10)
    assert selectors.user_profile(username="nobody-at-all") is None
