"""Like and unlike under real concurrency: threads, each with its own PostgreSQL connection."""

import logging
import random
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from accounts.models import User
from feed import selectors, services
from feed.models import LeaderboardState, Post, PostLike
from testing.plugin import eventually
from tests.factories import make_post

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_services]


def run_at_once(jobs: list[Callable[[], Any]]) -> list[BaseException]:
    """Start every job on its own thread behind a barrier; return the errors they raised."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def runner(job: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            job()
        except BaseException as exc:  # noqa: BLE001 - collected and asserted on
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_runs_on_postgresql() -> None:
    assert connection.vendor == "postgresql"


def test_fifty_users_liking_one_post_at_once_gives_fifty(make_user: Callable[..., User]) -> None:
    author = make_user()
    post = make_post(author)
    fans = [make_user() for _ in range(50)]
    errors = run_at_once([partial(services.post_like_set, user=u, post_id=post.pk) for u in fans])
    assert errors == []
    post.refresh_from_db()
    assert post.like_count == 50
    assert post.likes_version == 50
    assert PostLike.objects.filter(post=post).count() == 50
    assert selectors.user_profile(username=author.username).karma_24h == 250  # type: ignore[union-attr]


def test_one_user_liking_twenty_times_at_once_gives_one(make_user: Callable[..., User]) -> None:
    post = make_post(make_user())
    fan = make_user()
    results: list[services.LikeState] = []
    errors = run_at_once([lambda: results.append(services.post_like_set(user=fan, post_id=post.pk)) for _ in range(20)])
    assert errors == []
    post.refresh_from_db()
    assert post.like_count == 1
    assert PostLike.objects.filter(post=post).count() == 1
    assert all(r == services.LikeState(liked=True, like_count=1, version=1) for r in results)


def test_random_like_unlike_interleavings_keep_counts_and_karma_exact(make_user: Callable[..., User]) -> None:
    rng = random.Random(1234)
    authors = [make_user() for _ in range(3)]
    posts = [make_post(rng.choice(authors)) for _ in range(4)]
    likers = [make_user() for _ in range(12)] + authors  # authors like their own posts too

    def storm(user: User, seed: int) -> None:
        local = random.Random(seed)
        for _ in range(25):
            post = local.choice(posts)
            if local.random() < 0.55:
                services.post_like_set(user=user, post_id=post.pk)
            else:
                services.post_like_clear(user=user, post_id=post.pk)

    errors = run_at_once([partial(storm, u, i) for i, u in enumerate(likers)])
    assert errors == []
    for post in Post.objects.all():
        assert post.like_count == PostLike.objects.filter(post=post).count()
    check = services.karma_window_check()
    assert check.ok, check.mismatches
    for author in authors:
        expected = 5 * PostLike.objects.filter(recipient=author).exclude(user=author).count()
        assert selectors.user_profile(username=author.username).karma_24h == expected  # type: ignore[union-attr]


def test_concurrent_comments_count_exactly(make_user: Callable[..., User]) -> None:
    post = make_post(make_user())
    writers = [make_user() for _ in range(20)]
    errors = run_at_once([partial(services.comment_create, author=u, post_id=post.pk, content="hi") for u in writers])
    assert errors == []
    post.refresh_from_db()
    assert post.comment_count == 20


def backends_waiting_on_a_lock() -> int:
    """How many PostgreSQL backends of this test database wait for a lock now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


def test_a_karma_check_begun_while_a_refresh_holds_the_leaderboard_checks_again(
    make_user: Callable[..., User], caplog: pytest.LogCaptureFixture
) -> None:
    author, fan = make_user(), make_user()
    services.post_like_set(user=fan, post_id=make_post(author).pk)
    holding, release = threading.Event(), threading.Event()

    def refresh_holding_the_row() -> None:
        try:
            with transaction.atomic():
                state = LeaderboardState.objects.select_for_update().get(pk=1)
                state.computed_at = timezone.now()
                state.save(update_fields=["computed_at"])
                holding.set()
                release.wait(30)
        finally:
            connections.close_all()

    checks: list[services.KarmaCheck] = []
    errors: list[BaseException] = []

    def check() -> None:
        try:
            checks.append(services.karma_window_check())
        except BaseException as exc:  # noqa: BLE001 - asserted on below
            errors.append(exc)
        finally:
            connections.close_all()

    refresh = threading.Thread(target=refresh_holding_the_row)
    refresh.start()
    assert holding.wait(30)
    checker = threading.Thread(target=check)
    with caplog.at_level(logging.INFO, logger="feed.services"):
        checker.start()
        # The check has its snapshot and waits for the row: the refresh commits under it.
        eventually(backends_waiting_on_a_lock, "the karma check waiting for the leaderboard row")
        release.set()
        refresh.join()
        checker.join()
    assert errors == []
    assert [c.ok for c in checks] == [True]
    # The race happened (PostgreSQL refused the first try), and the check ran again.
    assert "checking again" in caplog.text
