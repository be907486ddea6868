"""The like algorithm of feed.likes, one module run against both engines.

`make test` runs it on PostgreSQL (the one-statement dialect) and on SQLite (the
step-by-step dialect); every test here holds for both.
"""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from feed import likes, services
from feed.models import Comment, CommentLike, KarmaWindow, LeaderboardState, Post, PostLike
from tests.factories import make_post

pytestmark = pytest.mark.django_db


def window_karma(user: User) -> int:
    return KarmaWindow.objects.filter(user=user).values_list("karma", flat=True).first() or 0


def test_the_state_row_exists_before_any_like() -> None:
    assert LeaderboardState.objects.filter(pk=1).exists()


def test_like_counts_versions_and_karma(make_user: Callable[..., User]) -> None:
    author, fan = make_user(), make_user()
    post = make_post(author)
    first = likes.write(likes.POST, user_id=fan.pk, object_id=post.pk, liked=True)
    assert first == likes.LikeWrite(True, 1, 1, changed=True, author_id=author.pk, post_id=post.pk)
    again = likes.write(likes.POST, user_id=fan.pk, object_id=post.pk, liked=True)
    assert again == likes.LikeWrite(True, 1, 1, changed=False, author_id=author.pk, post_id=post.pk)
    assert window_karma(author) == 5
    cleared = likes.write(likes.POST, user_id=fan.pk, object_id=post.pk, liked=False)
    assert cleared == likes.LikeWrite(False, 0, 2, changed=True, author_id=author.pk, post_id=post.pk)
    assert likes.write(likes.POST, user_id=fan.pk, object_id=post.pk, liked=False).changed is False
    assert window_karma(author) == 0
    assert PostLike.objects.count() == 0


def test_comment_like_names_its_post_and_gives_one(make_user: Callable[..., User]) -> None:
    author, fan = make_user(), make_user()
    post = make_post(make_user())
    comment, _ = services.comment_create(author=author, post_id=post.pk, content="c")
    result = likes.write(likes.COMMENT, user_id=fan.pk, object_id=comment.pk, liked=True)
    assert (result.post_id, result.author_id, result.like_count) == (post.pk, author.pk, 1)
    assert window_karma(author) == 1
    assert CommentLike.objects.get().recipient_id == author.pk
    assert Comment.objects.get().likes_version == 1


def test_self_like_counts_but_gives_no_karma(make_user: Callable[..., User]) -> None:
    author = make_user()
    post = make_post(author)
    assert likes.write(likes.POST, user_id=author.pk, object_id=post.pk, liked=True).like_count == 1
    assert window_karma(author) == 0
    assert likes.write(likes.POST, user_id=author.pk, object_id=post.pk, liked=False).like_count == 0
    assert window_karma(author) == 0


@pytest.mark.parametrize("liked", [True, False])
def test_unknown_content_is_not_found_and_writes_nothing(make_user: Callable[..., User], liked: bool) -> None:
    fan = make_user()
    with pytest.raises(likes.NotFound):
        likes.write(likes.POST, user_id=fan.pk, object_id=987_654, liked=liked)
    with pytest.raises(likes.NotFound):
        likes.write(likes.COMMENT, user_id=fan.pk, object_id=987_654, liked=liked)
    assert PostLike.objects.count() == CommentLike.objects.count() == 0


@pytest.mark.parametrize(("age_hours", "taken_back"), [(23.9, True), (24.1, False)])
def test_unlike_takes_back_only_what_the_window_counts(
    make_user: Callable[..., User], age_hours: float, taken_back: bool
) -> None:
    author, fan, other = make_user(), make_user(), make_user()
    post = make_post(author)
    likes.write(likes.POST, user_id=fan.pk, object_id=post.pk, liked=True)
    likes.write(likes.POST, user_id=other.pk, object_id=post.pk, liked=True)
    # The window starts 24 hours ago; the fan's like is moved to either side of its start.
    now = timezone.now()
    LeaderboardState.objects.filter(pk=1).update(window_start=now - timedelta(hours=24))
    PostLike.objects.filter(user=fan).update(created_at=now - timedelta(hours=age_hours))
    likes.write(likes.POST, user_id=fan.pk, object_id=post.pk, liked=False)
    assert window_karma(author) == (5 if taken_back else 10)
    assert Post.objects.get().like_count == 1


def test_a_like_is_one_statement_on_postgresql(make_user: Callable[..., User]) -> None:
    author, fan = make_user(), make_user()
    post = make_post(author)
    with CaptureQueriesContext(connection) as captured:
        likes.write(likes.POST, user_id=fan.pk, object_id=post.pk, liked=True)
        likes.write(likes.POST, user_id=fan.pk, object_id=post.pk, liked=False)
    writes = [q["sql"] for q in captured if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    if connection.vendor == "postgresql":
        assert len(writes) == 2, writes
    else:
        # SQLite runs the steps one by one: find, insert/delete, count, karma.
        assert len(writes) == 8, writes


@pytest.mark.parametrize("liked", [True, False])
def test_deleted_content_is_not_found_and_its_likes_stay(make_user: Callable[..., User], liked: bool) -> None:
    author, fan, other = make_user(), make_user(), make_user()
    post = make_post(author)
    comment, _ = services.comment_create(author=author, post_id=post.pk, content="c")
    likes.write(likes.POST, user_id=fan.pk, object_id=post.pk, liked=True)
    likes.write(likes.COMMENT, user_id=fan.pk, object_id=comment.pk, liked=True)
    services.post_delete(actor=author, post_id=post.pk)
    services.comment_delete(actor=author, comment_id=comment.pk)
    for user in (fan, other):
        with pytest.raises(likes.NotFound):
            likes.write(likes.POST, user_id=user.pk, object_id=post.pk, liked=liked)
        with pytest.raises(likes.NotFound):
            likes.write(likes.COMMENT, user_id=user.pk, object_id=comment.pk, liked=liked)
    post_row, comment_row = Post.all_objects.get(pk=post.pk), Comment.all_objects.get(pk=comment.pk)
    assert (post_row.like_count, post_row.likes_version, comment_row.like_count, comment_row.likes_version) == (
        1,
        1,
        1,
        1,
    )
    assert PostLike.objects.count() == CommentLike.objects.count() == 1
    assert window_karma(author) == 6
    # Positive control: restored, the same unlike (or like) goes through again.
    services.post_restore(post_id=post.pk)
    assert likes.write(likes.POST, user_id=other.pk, object_id=post.pk, liked=liked).like_count == (2 if liked else 1)
