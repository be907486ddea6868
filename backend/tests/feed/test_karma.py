"""Karma and the leaderboard: points, self-likes, unlikes, ties and the 24-hour window."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from feed import selectors, services
from feed.models import CommentLike, LeaderboardState, PostLike
from tests.factories import make_post

pytestmark = pytest.mark.django_db


def karma_24h(user: User) -> int:
    profile = selectors.user_profile(username=user.username)
    assert profile is not None
    return profile.karma_24h


def test_post_like_gives_five_comment_like_gives_one_self_like_gives_none(make_user: Callable[..., User]) -> None:
    author, fan = make_user(), make_user()
    post = make_post(author)
    comment, _ = services.comment_create(author=author, post_id=post.pk, content="mine")
    services.post_like_set(user=fan, post_id=post.pk)
    services.comment_like_set(user=fan, comment_id=comment.pk)
    services.post_like_set(user=author, post_id=post.pk)
    services.comment_like_set(user=author, comment_id=comment.pk)
    assert karma_24h(author) == 6
    assert karma_24h(fan) == 0
    post.refresh_from_db()
    assert post.like_count == 2  # the self-like counts as a like, just not as karma


def test_unlike_takes_karma_back(make_user: Callable[..., User]) -> None:
    author, fan = make_user(), make_user()
    post = make_post(author)
    services.post_like_set(user=fan, post_id=post.pk)
    assert services.post_like_clear(user=fan, post_id=post.pk) == services.LikeState(
        liked=False, like_count=0, version=2
    )
    assert services.post_like_clear(user=fan, post_id=post.pk) == services.LikeState(
        liked=False, like_count=0, version=2
    )
    assert karma_24h(author) == 0
    assert selectors.leaderboard_top() == []


def test_leaderboard_orders_by_karma_then_username_and_leaves_out_zero(make_user: Callable[..., User]) -> None:
    fans = [make_user() for _ in range(3)]
    bob, alice, carol, dave = make_user("bob"), make_user("alice"), make_user("carol"), make_user("dave")
    for author, likes in ((bob, 2), (alice, 2), (carol, 3)):
        post = make_post(author)
        for fan in fans[:likes]:
            services.post_like_set(user=fan, post_id=post.pk)
    make_post(dave)
    services.leaderboard_refresh()
    top = selectors.leaderboard_top()
    assert [(e["rank"], e["user"]["username"], e["karma"]) for e in top] == [
        (1, "carol", 15),
        (2, "alice", 10),
        (3, "bob", 10),
    ]


def test_leaderboard_keeps_five(make_user: Callable[..., User]) -> None:
    fan = make_user()
    for i in range(7):
        services.post_like_set(user=fan, post_id=make_post(make_user(f"author_{i}")).pk)
    assert len(selectors.leaderboard_top()) == 5


def test_window_edges_23h59_in_24h01_out(make_user: Callable[..., User]) -> None:
    author, early_fan, late_fan = make_user(), make_user(), make_user()
    now = timezone.now()
    # The window was last aged an hour ago, so both likes below are still counted in it...
    services.leaderboard_refresh()
    LeaderboardState.objects.filter(pk=1).update(
        window_start=now - timedelta(hours=25), computed_at=now - timedelta(hours=1)
    )
    old_post, new_post = make_post(author), make_post(author)
    services.post_like_set(user=early_fan, post_id=old_post.pk)
    services.post_like_set(user=late_fan, post_id=new_post.pk)
    PostLike.objects.filter(user=early_fan).update(created_at=now - timedelta(hours=24, minutes=1))
    PostLike.objects.filter(user=late_fan).update(created_at=now - timedelta(hours=23, minutes=59))
    # ...until the refresh ages the window: the like from 24h01 ago leaves, 23h59 stays.
    services.leaderboard_refresh()
    assert karma_24h(author) == 5
    assert selectors.leaderboard_top()[0]["karma"] == 5
    assert services.karma_window_check().ok
    profile = selectors.user_profile(username=author.username)
    assert profile is not None and profile.karma_total == 10


def test_unlike_of_a_like_that_aged_out_does_not_subtract_twice(make_user: Callable[..., User]) -> None:
    author, fan, other = make_user(), make_user(), make_user()
    now = timezone.now()
    services.leaderboard_refresh()
    LeaderboardState.objects.filter(pk=1).update(
        window_start=now - timedelta(hours=25), computed_at=now - timedelta(hours=1)
    )
    post = make_post(author)
    services.post_like_set(user=fan, post_id=post.pk)
    services.post_like_set(user=other, post_id=post.pk)
    PostLike.objects.filter(user=fan).update(created_at=now - timedelta(hours=24, minutes=30))
    services.leaderboard_refresh()  # ages fan's like out
    services.post_like_clear(user=fan, post_id=post.pk)
    assert selectors.leaderboard_top()[0]["karma"] == 5
    assert services.karma_window_check().ok


def test_comment_likes_count_toward_karma_window_and_check(make_user: Callable[..., User]) -> None:
    author, fan = make_user(), make_user()
    post = make_post(make_user())
    comment, _ = services.comment_create(author=author, post_id=post.pk, content="c")
    services.comment_like_set(user=fan, comment_id=comment.pk)
    assert CommentLike.objects.count() == 1
    services.leaderboard_refresh()
    assert selectors.leaderboard_top()[0] == {
        "rank": 1,
        "user": {"id": author.pk, "username": author.username},
        "karma": 1,
    }
    services.comment_like_clear(user=fan, comment_id=comment.pk)
    assert services.karma_window_check().ok
    assert selectors.leaderboard_top() == []


def test_rebuild_repairs_a_corrupted_window(make_user: Callable[..., User]) -> None:
    from feed.models import KarmaWindow

    author, fan = make_user(), make_user()
    services.post_like_set(user=fan, post_id=make_post(author).pk)
    KarmaWindow.objects.filter(user=author).update(karma=999)
    check = services.karma_window_check()
    assert not check.ok and check.mismatches == {author.pk: (999, 5)}
    services.karma_window_rebuild()
    assert services.karma_window_check().ok


def test_a_rebuild_that_moves_the_board_pushes_it(
    make_user: Callable[..., User], django_capture_on_commit_callbacks: Any, capture_pushes: list[Any]
) -> None:
    from feed.models import KarmaWindow

    author, fan = make_user(), make_user()
    services.post_like_set(user=fan, post_id=make_post(author).pk)
    KarmaWindow.objects.filter(user=author).update(karma=999)
    services.leaderboard_refresh()  # the corrupted board is the one sockets were told
    capture_pushes.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.karma_window_rebuild()
    boards = [event for event in capture_pushes if event.group == "leaderboard"]
    assert len(boards) == 1 and '"karma":5' in boards[0].text
    # Control: a rebuild that leaves the board as it is pushes nothing.
    capture_pushes.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.karma_window_rebuild()
    assert [event for event in capture_pushes if event.group == "leaderboard"] == []
