"""Deleting under real concurrency: threads, each with its own PostgreSQL connection."""

from collections.abc import Callable
from functools import partial
from typing import Any

import orjson
import pytest

from accounts.models import User
from feed import services
from feed.models import Comment, Post, PostLike
from tests.factories import make_post
from tests.feed.test_concurrency import run_at_once

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_services]


def event_types(pushes: list[Any]) -> list[str]:
    return [orjson.loads(event.text)["type"] for event in pushes]


def test_eight_concurrent_deletes_of_a_comment_send_one_event_and_count_once(
    make_user: Callable[..., User], capture_pushes: list[Any]
) -> None:
    author = make_user()
    post = make_post(author)
    comments = [services.comment_create(author=author, post_id=post.pk, content=str(i))[0] for i in range(3)]
    capture_pushes.clear()
    target = comments[1].pk
    errors = run_at_once([partial(services.comment_delete, actor=author, comment_id=target) for _ in range(8)])
    assert errors == []
    assert event_types(capture_pushes) == ["comment.deleted"]
    assert orjson.loads(capture_pushes[0].text)["comment_count"] == 2
    assert Post.objects.get(pk=post.pk).comment_count == 2


def test_eight_concurrent_deletes_of_a_post_send_one_event(
    make_user: Callable[..., User], capture_pushes: list[Any]
) -> None:
    author = make_user()
    post = make_post(author)
    results: list[bool] = []
    errors = run_at_once(
        [lambda: results.append(services.post_delete(actor=author, post_id=post.pk)) for _ in range(8)]
    )
    assert errors == []
    assert sorted(results) == [False] * 7 + [True]
    assert event_types(capture_pushes) == ["post.deleted"]


def test_deleting_different_comments_at_once_counts_each(make_user: Callable[..., User]) -> None:
    author = make_user()
    post = make_post(author)
    comments = [services.comment_create(author=author, post_id=post.pk, content=str(i))[0] for i in range(12)]
    jobs: list[Callable[[], Any]] = [
        partial(services.comment_delete, actor=author, comment_id=c.pk) for c in comments[:10]
    ]
    assert run_at_once(jobs) == []
    assert Post.objects.get(pk=post.pk).comment_count == 2 == Comment.objects.filter(post=post).count()


def test_replies_racing_the_deletion_of_their_parent_land_before_it_or_are_refused(
    make_user: Callable[..., User],
) -> None:
    author = make_user()
    post = make_post(author)
    parent, _ = services.comment_create(author=author, post_id=post.pk, content="parent")
    repliers = [make_user() for _ in range(10)]
    refused: list[BaseException] = []

    def reply(user: User) -> None:
        try:
            services.comment_create(author=user, post_id=post.pk, content="re", parent_id=parent.pk)
        except services.ContentDeleted as exc:
            refused.append(exc)

    jobs: list[Callable[[], Any]] = [partial(reply, u) for u in repliers]
    jobs.insert(5, partial(services.comment_delete, actor=author, comment_id=parent.pk))
    assert run_at_once(jobs) == []
    assert Comment.all_objects.get(pk=parent.pk).deleted_at is not None
    replies = Comment.objects.filter(parent_id=parent.pk).count()
    # Each reply either landed (ordered before the deletion by the post's row lock) or was
    # refused, and a refused one moved no count.
    assert replies + len(refused) == 10
    assert Post.objects.get(pk=post.pk).comment_count == replies
    with pytest.raises(services.ContentDeleted):
        services.comment_create(author=author, post_id=post.pk, content="late", parent_id=parent.pk)


def test_likes_racing_a_delete_are_counted_or_refused_never_half_done(make_user: Callable[..., User]) -> None:
    author = make_user()
    post = make_post(author)
    fans = [make_user() for _ in range(12)]
    jobs: list[Callable[[], Any]] = [partial(services.post_like_set, user=u, post_id=post.pk) for u in fans]
    jobs.insert(6, partial(services.post_delete, actor=author, post_id=post.pk))
    errors = run_at_once(jobs)
    assert all(isinstance(e, services.NotFound) for e in errors)
    row = Post.all_objects.get(pk=post.pk)
    likes = PostLike.objects.filter(post=post).count()
    assert row.deleted_at is not None
    assert row.like_count == likes == row.likes_version == 12 - len(errors)
    assert services.karma_window_check().ok
