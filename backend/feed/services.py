"""Writes of the feed. Each is one transaction that registers its own pushes after commit.

Likes are exact under any concurrency: `feed.likes` holds the one algorithm, in the SQL of
both engines.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from core import async_database
from feed import likes, presenters, selectors
from feed.models import Comment, KarmaWindow, LeaderboardState, Post
from realtime import events
from realtime.publish import publish_after_commit
from realtime.runtime import get_runtime, request_leaderboard_refresh_after_commit

logger = logging.getLogger(__name__)


class NotFound(Exception):
    pass


class InvalidParent(Exception):
    pass


class ThreadTooDeep(Exception):
    pass


class ContentDeleted(Exception):
    """A reply under a deleted post or comment."""


class NotPermitted(Exception):
    """Only the author of a post or comment, or staff, may delete it."""


@dataclass(frozen=True)
class LikeState:
    liked: bool
    like_count: int
    # The count's version, as in post.likes / comment.likes events.
    version: int


def _comment_count_add(post_id: int, delta: int, *, live_post_only: bool = False) -> int | None:
    """Move the post's comment_count by delta; the new value, the row locked till commit.

    None when the post does not exist (or, with live_post_only, is deleted).
    """
    quote = connection.ops.quote_name
    table, column = quote(Post._meta.db_table), quote("comment_count")
    guard = f" AND {quote('deleted_at')} IS NULL" if live_post_only else ""
    with connection.cursor() as cursor:
        sql = f"UPDATE {table} SET {column} = {column} + %s WHERE id = %s{guard} RETURNING {column}"
        cursor.execute(sql, [delta, post_id])
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def _comment_count_move(post_id: int, delta: int) -> int:
    comment_count = _comment_count_add(post_id, delta)
    if comment_count is None:
        raise NotFound(f"Post {post_id}")
    return comment_count


# --- posts and comments ---------------------------------------------------------------


@transaction.atomic
def post_create(*, author: User, content: str) -> Post:
    post = Post.objects.create(author=author, content=content, created_at=timezone.now())
    publish_after_commit(partial(events.post_created, presenters.post_data(post, liked_by_me=False)))
    return post


@transaction.atomic
def comment_create(*, author: User, post_id: int, content: str, parent_id: int | None = None) -> tuple[Comment, int]:
    """Add a comment; returns it with the post's new comment_count.

    The post's row is locked (by the count update) before the parent is read, and deleting a
    comment locks that row too before it commits: a reply never lands under a comment whose
    deletion committed first.
    """
    comment_count = _comment_count_add(post_id, 1, live_post_only=True)
    if comment_count is None:
        if Post.all_objects.filter(pk=post_id).exists():
            raise ContentDeleted(f"Post {post_id} was deleted; it takes no new comments.")
        raise NotFound(f"Post {post_id}")
    depth = 0 if parent_id is None else _reply_depth(post_id=post_id, parent_id=parent_id)
    comment = Comment.objects.create(
        post_id=post_id, parent_id=parent_id, author=author, content=content, created_at=timezone.now(), depth=depth
    )
    publish_after_commit(
        partial(
            events.comment_created,
            post_id=post_id,
            comment=presenters.comment_data(comment, liked_by_me=False),
            comment_count=comment_count,
        )
    )
    return comment, comment_count


def _reply_depth(*, post_id: int, parent_id: int) -> int:
    parent = Comment.all_objects.filter(pk=parent_id).values("post_id", "depth", "deleted_at").first()
    if parent is None:
        raise InvalidParent(f"Comment {parent_id} does not exist.")
    if parent["post_id"] != post_id:
        raise InvalidParent(f"Comment {parent_id} belongs to another post.")
    if parent["deleted_at"] is not None:
        raise ContentDeleted(f"Comment {parent_id} was deleted; it takes no replies.")
    depth = parent["depth"] + 1
    max_depth = settings.COMMENT_MAX_DEPTH
    if max_depth and depth >= max_depth:
        raise ThreadTooDeep(f"Replies may nest at most {max_depth} levels deep.")
    return int(depth)


# --- deleting and restoring -------------------------------------------------------------
# Deleting is soft: the row keeps its id and place, shown as a placeholder (see presenters).
# Likes stay, so karma earned stays earned; only comment_count moves. Each change is one
# guarded UPDATE (`deleted_at IS NULL` to delete, `IS NOT NULL` to restore): of two requests
# racing, the second waits on the row lock, then finds nothing to change and sends nothing.


def _check_may_delete(actor: User, author_id: int) -> None:
    if actor.pk != author_id and not actor.is_staff:
        raise NotPermitted("Only the author (or staff) may delete this.")


@transaction.atomic
def post_delete(*, actor: User, post_id: int) -> bool:
    """Delete a post softly; False when it was deleted already. Its thread stays readable."""
    author_id = Post.all_objects.filter(pk=post_id).values_list("author_id", flat=True).first()
    if author_id is None:
        raise NotFound(f"Post {post_id}")
    _check_may_delete(actor, author_id)
    if not Post.objects.filter(pk=post_id).update(deleted_at=timezone.now()):
        return False
    publish_after_commit(partial(events.post_deleted, post_id=post_id))
    return True


@transaction.atomic
def comment_delete(*, actor: User, comment_id: int) -> bool:
    """Delete a comment softly; False when it was deleted already. Its replies stay."""
    row = Comment.all_objects.filter(pk=comment_id).values("author_id", "post_id").first()
    if row is None:
        raise NotFound(f"Comment {comment_id}")
    _check_may_delete(actor, row["author_id"])
    if not Comment.objects.filter(pk=comment_id).update(deleted_at=timezone.now()):
        return False
    post_id = row["post_id"]
    comment_count = _comment_count_move(post_id, -1)
    publish_after_commit(
        partial(events.comment_deleted, post_id=post_id, comment_id=comment_id, comment_count=comment_count)
    )
    return True


@transaction.atomic
def post_restore(*, post_id: int) -> bool:
    """Undo a deletion (staff, from the admin); False when the post was not deleted.

    Sends `post.restored` with the whole post, so feeds put it back in its place.
    """
    if not Post.all_objects.filter(pk=post_id, deleted_at__isnull=False).update(deleted_at=None):
        return False
    post = Post.objects.select_related("author").get(pk=post_id)
    publish_after_commit(partial(events.post_restored, presenters.post_data(post, liked_by_me=False)))
    return True


@transaction.atomic
def comment_restore(*, comment_id: int) -> bool:
    """Undo a comment's deletion; False when it was not deleted.

    Sends `comment.restored` with the whole comment and the post's new comment_count.
    """
    if not Comment.all_objects.filter(pk=comment_id, deleted_at__isnull=False).update(deleted_at=None):
        return False
    comment = Comment.objects.select_related("author").get(pk=comment_id)
    comment_count = _comment_count_move(comment.post_id, 1)
    publish_after_commit(
        partial(
            events.comment_restored,
            post_id=comment.post_id,
            comment=presenters.comment_data(comment, liked_by_me=False),
            comment_count=comment_count,
        )
    )
    return True


# --- likes ------------------------------------------------------------------------------


def _like_write(target: likes.LikeTarget, *, user: User, object_id: int, liked: bool) -> LikeState:
    """One like or unlike (see feed.likes), then its pushes after commit.

    Not atomic here on purpose: on PostgreSQL the write is one statement, its own transaction.
    """
    try:
        result = likes.write(target, user_id=user.pk, object_id=object_id, liked=liked)
    except likes.NotFound as exc:
        raise NotFound(str(exc)) from exc
    if result.changed:
        # Outside a transaction these run now; inside a caller's atomic block, at its commit.
        if result.author_id != user.pk:
            request_leaderboard_refresh_after_commit()
        publish_after_commit(partial(_likes_event, target, result, object_id))
    return LikeState(liked=result.liked, like_count=result.like_count, version=result.version)


async def like_on_loop(target: likes.LikeTarget, *, user_id: int, object_id: int, liked: bool) -> LikeState:
    """`_like_write` for a request answered on the event loop (feed.async_likes), on PostgreSQL.

    The statement is its own transaction, so when it returns it has committed: its pushes go
    to this loop's publisher at once.
    """
    db_pool = await async_database.pool()
    try:
        async with db_pool.connection() as db:
            result = await likes.write_on_loop(target, user_id=user_id, object_id=object_id, liked=liked, db=db)
    except likes.NotFound as exc:
        raise NotFound(str(exc)) from exc
    if result.changed:
        runtime = await get_runtime()
        if result.author_id != user_id:
            runtime.request_leaderboard_refresh()
        runtime.submit(_likes_event(target, result, object_id))
    return LikeState(liked=result.liked, like_count=result.like_count, version=result.version)


def _likes_event(target: likes.LikeTarget, result: likes.LikeWrite, object_id: int) -> events.Event:
    if target is likes.POST:
        return events.post_likes(post_id=object_id, like_count=result.like_count, version=result.version)
    return events.comment_likes(
        post_id=result.post_id, comment_id=object_id, like_count=result.like_count, version=result.version
    )


def post_like_set(*, user: User, post_id: int) -> LikeState:
    return _like_write(likes.POST, user=user, object_id=post_id, liked=True)


def post_like_clear(*, user: User, post_id: int) -> LikeState:
    return _like_write(likes.POST, user=user, object_id=post_id, liked=False)


def comment_like_set(*, user: User, comment_id: int) -> LikeState:
    return _like_write(likes.COMMENT, user=user, object_id=comment_id, liked=True)


def comment_like_clear(*, user: User, comment_id: int) -> LikeState:
    return _like_write(likes.COMMENT, user=user, object_id=comment_id, liked=False)


# --- the leaderboard ---------------------------------------------------------------------


def _locked_leaderboard_state() -> LeaderboardState:
    """The state row (created by a migration), locked for update till commit."""
    return LeaderboardState.objects.select_for_update().get(pk=1)


def _age_window(state: LeaderboardState, now: datetime) -> None:
    """Subtract the karma of likes that left the window since it was last aged."""
    new_start = selectors.karma_window_start(now)
    if new_start <= state.window_start:
        return
    leaving = selectors.karma_by_recipient(after=state.window_start, until=new_start)
    for user_id in sorted(leaving):
        KarmaWindow.objects.filter(user_id=user_id).update(karma=F("karma") - leaving[user_id])
    if leaving:
        KarmaWindow.objects.filter(user_id__in=list(leaving), karma__lte=0).delete()
    state.window_start = new_start


@dataclass(frozen=True)
class RefreshResult:
    changed: bool
    # Seconds until a refresh may run again, when another worker refreshed too recently.
    retry_after: float | None = None


@transaction.atomic
def leaderboard_refresh(*, min_interval: float = 0.0) -> RefreshResult:
    """Age the karma window, recompute the top 5, and push it if it changed.

    The state row's lock makes this run in one worker at a time; min_interval keeps the
    recompute to at most one per interval across all workers.
    """
    if connection.vendor == "postgresql":
        # Everything this transaction writes is derived and rebuilt from likes, so it need not
        # wait for the disk: that wait was most of a refresh's time.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
    state = _locked_leaderboard_state()
    now = timezone.now()
    since_last = (now - state.computed_at).total_seconds()
    if 0 <= since_last < min_interval:
        return RefreshResult(changed=False, retry_after=min_interval - since_last)
    _age_window(state, now)
    entries = selectors.leaderboard_top()
    changed = entries != state.entries
    state.entries = entries
    state.computed_at = now
    state.save(update_fields=["window_start", "entries", "computed_at"])
    if changed:
        _publish_leaderboard_after_commit(entries, now)
    return RefreshResult(changed=changed)


def _publish_leaderboard_after_commit(entries: list[dict[str, Any]], now: datetime) -> None:
    publish_after_commit(
        partial(
            events.leaderboard,
            window_hours=settings.KARMA["WINDOW_HOURS"],
            entries=entries,
            version=int(now.timestamp() * 1_000_000),
        )
    )


@transaction.atomic
def karma_window_rebuild() -> None:
    """Recompute the karma window from the likes that exist (after bulk loads, or to repair)."""
    state = _locked_leaderboard_state()
    now = timezone.now()
    state.window_start = selectors.karma_window_start(now)
    KarmaWindow.objects.all().delete()
    totals = selectors.karma_by_recipient(after=state.window_start)
    KarmaWindow.objects.bulk_create(KarmaWindow(user_id=u, karma=k) for u, k in totals.items() if k > 0)
    entries = selectors.leaderboard_top()
    # Open sockets hold the board last pushed: a rebuild that moves it must say so, or the
    # next refresh, seeing no change against the saved entries, never would.
    if entries != state.entries:
        _publish_leaderboard_after_commit(entries, now)
    state.entries = entries
    state.computed_at = now
    state.save()


@dataclass(frozen=True)
class KarmaCheck:
    window_start: datetime
    users_checked: int
    mismatches: dict[int, tuple[int, int]]  # user id -> (window value, from-scratch value)
    top: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        return not self.mismatches


# How many times the check is run before a refresh that keeps beating it fails it.
KARMA_CHECK_ATTEMPTS = 5
# PostgreSQL's "could not serialize access": a repeatable-read transaction may not lock a row
# that a transaction committed after its snapshot had updated.
_SERIALIZATION_FAILURE = "40001"


def karma_window_check() -> KarmaCheck:
    """Compare every user's window karma with the sum of their likes, at one instant.

    The state row stays locked, so no refresh ages the window meanwhile; likes that commit
    during the check are kept out by comparing at the window start read under that lock
    and a repeatable-read snapshot on PostgreSQL. A refresh that held the row when the check
    began leaves the check's snapshot older than the row it waited for, which PostgreSQL
    refuses to lock: the check then starts again on a new snapshot.
    """
    attempt = 1
    while True:
        try:
            return _karma_window_check_at_one_instant()
        except OperationalError as exc:
            if attempt >= KARMA_CHECK_ATTEMPTS or getattr(exc.__cause__, "sqlstate", None) != _SERIALIZATION_FAILURE:
                raise
            logger.info(
                "karma check began while a refresh held the leaderboard; checking again", extra={"attempt": attempt}
            )
            attempt += 1


@transaction.atomic
def _karma_window_check_at_one_instant() -> KarmaCheck:
    if connection.vendor == "postgresql" and len(connection.atomic_blocks) == 1:
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    state = _locked_leaderboard_state()
    _age_window(state, timezone.now())
    state.save(update_fields=["window_start"])
    window = selectors.karma_window_totals()
    scratch = selectors.karma_by_recipient(after=state.window_start)
    mismatches = {
        user_id: (window.get(user_id, 0), scratch.get(user_id, 0))
        for user_id in set(window) | set(scratch)
        if window.get(user_id, 0) != scratch.get(user_id, 0)
    }
    return KarmaCheck(
        window_start=state.window_start,
        users_checked=len(set(window) | set(scratch)),
        mismatches=mismatches,
        top=selectors.leaderboard_top(),
    )
