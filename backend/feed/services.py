"""Writes of the feed. Each is one transaction that registers its own pushes after commit.

Likes are exact under any concurrency: the unique constraint decides who inserted
(`INSERT ... ON CONFLICT DO NOTHING RETURNING`), and counters move only when a row really
changed, by an UPDATE that adds to the stored value and returns the result.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from feed import presenters, selectors
from feed.models import Comment, CommentLike, KarmaWindow, LeaderboardState, Post, PostLike
from realtime import events
from realtime.publish import publish_after_commit, request_leaderboard_refresh_after_commit


class NotFound(Exception):
    pass


class InvalidParent(Exception):
    pass


class ThreadTooDeep(Exception):
    pass


@dataclass(frozen=True)
class LikeState:
    liked: bool
    like_count: int
    # The count's version, as in post.likes / comment.likes events.
    version: int


# --- small SQL helpers shared by PostgreSQL and SQLite ------------------------------------


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _bump(
    model: type[Post] | type[Comment], pk: int, *, column: str, delta: int, with_version: bool
) -> tuple[int, int]:
    """Add delta to a counter (and 1 to its version); return the new values, row-locked till commit."""
    table = _q(model._meta.db_table)
    col = _q(column)
    version = _q("likes_version")
    assignments = f"{col} = {col} + %s" + (f", {version} = {version} + 1" if with_version else "")
    returning = f"{col}, {version}"
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignments} WHERE {_q('id')} = %s RETURNING {returning}", [delta, pk])
        row = cursor.fetchone()
    if row is None:
        raise NotFound(f"{model.__name__} {pk}")
    return int(row[0]), int(row[1])


def _insert_like(
    model: type[PostLike] | type[CommentLike], *, target: str, target_id: int, user_id: int, recipient_id: int
) -> bool:
    """Insert the like unless it exists; True when this call created it."""
    table = _q(model._meta.db_table)
    columns = ", ".join(_q(c) for c in ("user_id", target, "recipient_id", "created_at"))
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s) "
        f"ON CONFLICT ({_q('user_id')}, {_q(target)}) DO NOTHING RETURNING {_q('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, target_id, recipient_id, now])
        return cursor.fetchone() is not None


def _delete_like(
    model: type[PostLike] | type[CommentLike], *, target: str, target_id: int, user_id: int
) -> datetime | None:
    """Delete the like if it exists; its creation time when this call deleted it."""
    table = _q(model._meta.db_table)
    sql = f"DELETE FROM {table} WHERE {_q('user_id')} = %s AND {_q(target)} = %s RETURNING {_q('created_at')}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, target_id])
        row = cursor.fetchone()
    return None if row is None else _as_datetime(row[0])


def _karma_add(*, user_id: int, points: int) -> None:
    table = _q(KarmaWindow._meta.db_table)
    karma = _q("karma")
    sql = (
        f"INSERT INTO {table} ({_q('user_id')}, {karma}) VALUES (%s, %s) "
        f"ON CONFLICT ({_q('user_id')}) DO UPDATE SET {karma} = {table}.{karma} + EXCLUDED.{karma}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, points])


def _karma_take_back(*, user_id: int, points: int, like_created_at: datetime) -> None:
    """Undo a like's karma if the window still counts it.

    Reading window_start under a share lock orders this against the refresh that ages the
    window (which takes the row for update): the like is subtracted by exactly one of them.
    """
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
    table = _q(LeaderboardState._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_q('window_start')} FROM {table} WHERE {_q('id')} = 1{lock}")
        row = cursor.fetchone()
    # The row is created on first use (and again after a test flushes the tables).
    window_start = _leaderboard_state().window_start if row is None else _as_datetime(row[0])
    if like_created_at > window_start:
        KarmaWindow.objects.filter(user_id=user_id).update(karma=F("karma") - points)


def _as_datetime(value: Any) -> datetime:
    """A timestamp from a raw cursor: PostgreSQL gives datetimes, SQLite gives text in UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_fixed_timezone(0))
    return value


# --- posts and comments ---------------------------------------------------------------


@transaction.atomic
def post_create(*, author: User, content: str) -> Post:
    post = Post.objects.create(author=author, content=content, created_at=timezone.now())
    publish_after_commit(partial(events.post_created, presenters.post_data(post, liked_by_me=False)))
    return post


@transaction.atomic
def comment_create(*, author: User, post_id: int, content: str, parent_id: int | None = None) -> tuple[Comment, int]:
    """Add a comment; returns it with the post's new comment_count."""
    depth = 0
    if parent_id is not None:
        parent = Comment.objects.filter(pk=parent_id).values("post_id", "depth").first()
        if parent is None:
            raise InvalidParent(f"Comment {parent_id} does not exist.")
        if parent["post_id"] != post_id:
            raise InvalidParent(f"Comment {parent_id} belongs to another post.")
        depth = parent["depth"] + 1
        max_depth = settings.COMMENT_MAX_DEPTH
        if max_depth and depth >= max_depth:
            raise ThreadTooDeep(f"Replies may nest at most {max_depth} levels deep.")
    comment_count, _ = _bump(Post, post_id, column="comment_count", delta=1, with_version=False)
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


# --- likes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LikeTarget:
    """What differs between liking a post and liking a comment."""

    content_model: type[Post] | type[Comment]
    like_model: type[PostLike] | type[CommentLike]
    column: str  # the like table's foreign key to the content
    points_setting: str
    # The post whose followers see the change, and the event that tells them.
    post_id_of: Callable[[dict[str, Any]], int]
    event: Callable[..., events.Event]


_POST = _LikeTarget(
    content_model=Post,
    like_model=PostLike,
    column="post_id",
    points_setting="POST_LIKE_POINTS",
    post_id_of=lambda row: row["id"],
    event=lambda *, post_id, object_id, like_count, version: events.post_likes(
        post_id=post_id, like_count=like_count, version=version
    ),
)
_COMMENT = _LikeTarget(
    content_model=Comment,
    like_model=CommentLike,
    column="comment_id",
    points_setting="COMMENT_LIKE_POINTS",
    post_id_of=lambda row: row["post_id"],
    event=lambda *, post_id, object_id, like_count, version: events.comment_likes(
        post_id=post_id, comment_id=object_id, like_count=like_count, version=version
    ),
)


def _content_row(target: _LikeTarget, object_id: int) -> dict[str, Any]:
    fields = ("id", "author_id") if target is _POST else ("id", "author_id", "post_id")
    row = target.content_model.objects.filter(pk=object_id).values(*fields).first()
    if row is None:
        raise NotFound(f"{target.content_model.__name__} {object_id}")
    return row


def _current_count(target: _LikeTarget, object_id: int) -> tuple[int, int]:
    row = target.content_model.objects.filter(pk=object_id).values_list("like_count", "likes_version").first()
    return row or (0, 0)


def _publish_count(target: _LikeTarget, row: dict[str, Any], *, like_count: int, version: int) -> None:
    post_id = target.post_id_of(row)
    publish_after_commit(
        partial(target.event, post_id=post_id, object_id=row["id"], like_count=like_count, version=version)
    )


def _like_set(target: _LikeTarget, *, user: User, object_id: int) -> LikeState:
    row = _content_row(target, object_id)
    author_id = row["author_id"]
    if not _insert_like(
        target.like_model, target=target.column, target_id=object_id, user_id=user.pk, recipient_id=author_id
    ):
        return LikeState(True, *_current_count(target, object_id))
    like_count, version = _bump(target.content_model, object_id, column="like_count", delta=1, with_version=True)
    if author_id != user.pk:
        _karma_add(user_id=author_id, points=settings.KARMA[target.points_setting])
        request_leaderboard_refresh_after_commit()
    _publish_count(target, row, like_count=like_count, version=version)
    return LikeState(liked=True, like_count=like_count, version=version)


def _like_clear(target: _LikeTarget, *, user: User, object_id: int) -> LikeState:
    row = _content_row(target, object_id)
    author_id = row["author_id"]
    liked_at = _delete_like(target.like_model, target=target.column, target_id=object_id, user_id=user.pk)
    if liked_at is None:
        return LikeState(False, *_current_count(target, object_id))
    like_count, version = _bump(target.content_model, object_id, column="like_count", delta=-1, with_version=True)
    if author_id != user.pk:
        _karma_take_back(user_id=author_id, points=settings.KARMA[target.points_setting], like_created_at=liked_at)
        request_leaderboard_refresh_after_commit()
    _publish_count(target, row, like_count=like_count, version=version)
    return LikeState(liked=False, like_count=like_count, version=version)


# On PostgreSQL a like or an unlike is one statement: data-modifying CTEs insert (or delete)
# the row, move the counter and the karma window, and read back what changed, in one round
# trip and one implicit transaction. Each step is the same guarded statement as on SQLite:
# the unique constraint decides who inserted, the counter UPDATE adds to the stored value
# under its row lock, and karma moves only when a row really changed.


def _like_sql_names(target: _LikeTarget) -> dict[str, str]:
    return {
        "content": _q(target.content_model._meta.db_table),
        "likes": _q(target.like_model._meta.db_table),
        "column": _q(target.column),
        "karma": _q(KarmaWindow._meta.db_table),
        "state": _q(LeaderboardState._meta.db_table),
        "post_id": _q("post_id") if target is _COMMENT else _q("id"),
    }


_LIKE_SET_SQL = """
WITH target AS (
    SELECT id, author_id, {post_id} AS post_id FROM {content} WHERE id = %(object_id)s
), inserted AS (
    INSERT INTO {likes} (user_id, {column}, recipient_id, created_at)
    SELECT %(user_id)s, id, author_id, %(now)s FROM target
    ON CONFLICT (user_id, {column}) DO NOTHING
    RETURNING recipient_id
), bumped AS (
    UPDATE {content} SET like_count = like_count + 1, likes_version = likes_version + 1
    WHERE id = %(object_id)s AND EXISTS (SELECT 1 FROM inserted)
    RETURNING like_count, likes_version
), karma AS (
    INSERT INTO {karma} (user_id, karma)
    SELECT recipient_id, %(points)s FROM inserted WHERE recipient_id <> %(user_id)s
    ON CONFLICT (user_id) DO UPDATE SET karma = {karma}.karma + EXCLUDED.karma
)
SELECT target.author_id, target.post_id, bumped.like_count, bumped.likes_version
FROM target LEFT JOIN bumped ON TRUE
"""

# The karma of an unliked like is taken back only if the window still counts it. Reading
# window_start under a share lock orders this against the refresh that ages the window
# (which takes the row for update): the like is subtracted by exactly one of them.
_LIKE_CLEAR_SQL = """
WITH target AS (
    SELECT id, author_id, {post_id} AS post_id FROM {content} WHERE id = %(object_id)s
), deleted AS (
    DELETE FROM {likes} WHERE user_id = %(user_id)s AND {column} = %(object_id)s
    RETURNING recipient_id, created_at
), bumped AS (
    UPDATE {content} SET like_count = like_count - 1, likes_version = likes_version + 1
    WHERE id = %(object_id)s AND EXISTS (SELECT 1 FROM deleted)
    RETURNING like_count, likes_version
), window_state AS (
    SELECT window_start FROM {state} WHERE id = 1 FOR SHARE
), karma AS (
    UPDATE {karma} SET karma = {karma}.karma - %(points)s FROM deleted
    WHERE {karma}.user_id = deleted.recipient_id AND deleted.recipient_id <> %(user_id)s
      AND deleted.created_at > COALESCE((SELECT window_start FROM window_state), %(window_start)s)
)
SELECT target.author_id, target.post_id, bumped.like_count, bumped.likes_version
FROM target LEFT JOIN bumped ON TRUE
"""


def _like_statement(target: _LikeTarget, *, sql: str, user: User, object_id: int, liked: bool) -> LikeState:
    params: dict[str, Any] = {
        "object_id": object_id,
        "user_id": user.pk,
        "points": settings.KARMA[target.points_setting],
        "now": timezone.now(),
        # Used only while the leaderboard state row does not exist yet (its first refresh creates it).
        "window_start": selectors.karma_window_start(),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql.format(**_like_sql_names(target)), params)
        row = cursor.fetchone()
    if row is None:
        raise NotFound(f"{target.content_model.__name__} {object_id}")
    author_id, post_id, like_count, version = row
    if like_count is None:
        # Nothing changed, perhaps because a concurrent request did the same and committed
        # while this statement waited on it: a new statement sees that request's count.
        return LikeState(liked, *_current_count(target, object_id))
    # Outside a transaction the statement has committed and these run now; inside one (a
    # caller's atomic block) they wait for its commit.
    if author_id != user.pk:
        request_leaderboard_refresh_after_commit()
    _publish_count(target, {"id": object_id, "post_id": post_id}, like_count=like_count, version=version)
    return LikeState(liked=liked, like_count=like_count, version=version)


def _like_write(target: _LikeTarget, *, user: User, object_id: int, liked: bool) -> LikeState:
    if connection.vendor == "postgresql":
        sql = _LIKE_SET_SQL if liked else _LIKE_CLEAR_SQL
        return _like_statement(target, sql=sql, user=user, object_id=object_id, liked=liked)
    with transaction.atomic():
        if liked:
            return _like_set(target, user=user, object_id=object_id)
        return _like_clear(target, user=user, object_id=object_id)


def post_like_set(*, user: User, post_id: int) -> LikeState:
    return _like_write(_POST, user=user, object_id=post_id, liked=True)


def post_like_clear(*, user: User, post_id: int) -> LikeState:
    return _like_write(_POST, user=user, object_id=post_id, liked=False)


def comment_like_set(*, user: User, comment_id: int) -> LikeState:
    return _like_write(_COMMENT, user=user, object_id=comment_id, liked=True)


def comment_like_clear(*, user: User, comment_id: int) -> LikeState:
    return _like_write(_COMMENT, user=user, object_id=comment_id, liked=False)


# --- the leaderboard ---------------------------------------------------------------------


def _leaderboard_state() -> LeaderboardState:
    state, _ = LeaderboardState.objects.get_or_create(
        pk=1, defaults={"window_start": selectors.karma_window_start(), "computed_at": timezone.now()}
    )
    return state


def _locked_leaderboard_state() -> LeaderboardState:
    """The state row, locked for update till commit: one query once the row exists."""
    state = LeaderboardState.objects.select_for_update().filter(pk=1).first()
    if state is None:
        _leaderboard_state()
        state = LeaderboardState.objects.select_for_update().get(pk=1)
    return state


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
        publish_after_commit(
            partial(
                events.leaderboard,
                window_hours=settings.KARMA["WINDOW_HOURS"],
                entries=entries,
                version=int(now.timestamp() * 1_000_000),
            )
        )
    return RefreshResult(changed=changed)


@transaction.atomic
def karma_window_rebuild() -> None:
    """Recompute the karma window from the likes that exist (after bulk loads, or to repair)."""
    state = _locked_leaderboard_state()
    now = timezone.now()
    state.window_start = selectors.karma_window_start(now)
    KarmaWindow.objects.all().delete()
    totals = selectors.karma_by_recipient(after=state.window_start)
    KarmaWindow.objects.bulk_create(KarmaWindow(user_id=u, karma=k) for u, k in totals.items() if k > 0)
    state.entries = selectors.leaderboard_top()
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


@transaction.atomic
def karma_window_check() -> KarmaCheck:
    """Compare every user's window karma with the sum of their likes, at one instant.

    The state row stays locked, so no refresh ages the window meanwhile; likes that commit
    during the check are kept out by comparing at the window start read under that lock
    and a repeatable-read snapshot on PostgreSQL.
    """
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
