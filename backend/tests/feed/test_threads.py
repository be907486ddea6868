"""Threads load in a constant number of queries and without recursion, at any depth."""

import re
from collections.abc import Callable

import orjson
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from feed import presenters, selectors, services
from tests.factories import make_post, make_reply_chain

pytestmark = pytest.mark.django_db


def thread_queries(post_id: int, viewer: User | None) -> int:
    with CaptureQueriesContext(connection) as captured:
        thread = selectors.thread_get(post_id=post_id, viewer=viewer)
        assert thread is not None
        presenters.thread_json(thread.post, comments=thread.comments)
    return len(captured)


@pytest.mark.parametrize("size", [10, 1000])
def test_thread_query_count_is_constant(make_user: Callable[..., User], size: int) -> None:
    author, viewer = make_user(), make_user()
    post = make_post(author)
    chain = make_reply_chain(post, author, size)
    services.comment_like_set(user=viewer, comment_id=chain[-1].pk)
    assert thread_queries(post.pk, viewer) == 2
    assert thread_queries(post.pk, None) == 2


def test_ten_thousand_deep_chain_loads_through_the_api(
    make_user: Callable[..., User], contract_client: Callable
) -> None:
    author = make_user()
    post = make_post(author)
    make_reply_chain(post, author, 10_000)
    response = contract_client().get(f"/api/posts/{post.pk}/")
    assert response.status_code == 200
    body = response.content
    # No JSON parser in Python takes 10,000 levels (they recurse), so read the shape off the
    # text: one `replies` array per level, depths in order, and every level closed.
    assert body.count(b'"replies":[') == 10_000
    assert [int(d) for d in re.findall(rb'"depth":(\d+)', body)] == list(range(10_000))
    assert body.endswith(b'"replies":[]}' + b"]}" * 9_999 + b"]}")
    assert body.count(b"{") == body.count(b"}") and body.count(b"[") == body.count(b"]")


def test_thread_is_nested_and_oldest_first(make_user: Callable[..., User]) -> None:
    author = make_user()
    post = make_post(author)
    first, _ = services.comment_create(author=author, post_id=post.pk, content="first")
    second, _ = services.comment_create(author=author, post_id=post.pk, content="second")
    reply, _ = services.comment_create(author=author, post_id=post.pk, content="reply", parent_id=first.pk)
    nested, _ = services.comment_create(author=author, post_id=post.pk, content="nested", parent_id=reply.pk)
    comments = selectors.thread_comments(post_id=post.pk, viewer=None)
    tree = orjson.loads(presenters.comment_tree_json(comments, post_id=post.pk))
    assert [c["id"] for c in tree] == [first.pk, second.pk]
    assert tree[0]["replies"][0]["id"] == reply.pk
    assert tree[0]["replies"][0]["replies"][0] == {
        **tree[0]["replies"][0]["replies"][0],
        "id": nested.pk,
        "depth": 2,
        "replies": [],
    }
    assert tree[1]["replies"] == []


def test_parent_from_another_post_is_refused(make_user: Callable[..., User]) -> None:
    author = make_user()
    post, other = make_post(author), make_post(author)
    foreign, _ = services.comment_create(author=author, post_id=other.pk, content="elsewhere")
    with pytest.raises(services.InvalidParent):
        services.comment_create(author=author, post_id=post.pk, content="x", parent_id=foreign.pk)


def test_depth_cap_when_configured(make_user: Callable[..., User], settings) -> None:
    settings.COMMENT_MAX_DEPTH = 2
    author = make_user()
    post = make_post(author)
    root, _ = services.comment_create(author=author, post_id=post.pk, content="0")
    child, _ = services.comment_create(author=author, post_id=post.pk, content="1", parent_id=root.pk)
    with pytest.raises(services.ThreadTooDeep):
        services.comment_create(author=author, post_id=post.pk, content="2", parent_id=child.pk)


@pytest.mark.parametrize("depth", [presenters.ONE_CALL_MAX_DEPTH, presenters.ONE_CALL_MAX_DEPTH + 2])
def test_both_thread_encoders_write_the_same_bytes(make_user: Callable[..., User], depth: int) -> None:
    author = make_user()
    post = make_post(author)
    chain = make_reply_chain(post, author, depth)
    services.comment_create(author=author, post_id=post.pk, content="beside", parent_id=chain[0].pk)
    comments = selectors.thread_comments(post_id=post.pk, viewer=None)
    encoded = presenters.comment_tree_json(comments, post_id=post.pk)
    assert encoded == presenters._deep_tree_json(comments, post_id=post.pk)
    assert encoded.count(b'"replies":[') == depth + 1
