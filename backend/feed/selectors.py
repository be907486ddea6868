"""Reads of the feed. Each selector is one query (a thread is two: the post, its comments);
each says its count, and tests/feed/test_read_queries.py holds them to it.

Deleted content: `Post.objects` and `Comment.objects` leave it out (see models.LiveManager);
the ORM reads below that show it as placeholders say so and start from `all_objects`, and the
SQL reads say `deleted_at IS NULL` wherever deleted rows are left out.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, F
from django.utils import timezone

from accounts.models import User
from feed.models import Comment, CommentLike, KarmaWindow, Post, PostLike
from feed.read_rows import afetch, fetch


def karma_window_start(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(hours=settings.KARMA["WINDOW_HOURS"])


def _viewer_id(viewer: User | None) -> int | None:
    return viewer.pk if viewer is not None and viewer.is_authenticated else None


# The feed's hot reads are written as SQL: each runs on every page view, and building the
# query through the ORM and a model instance per row cost more CPU than the rows themselves.
# Rows come back as tuples in the column order their type names; presenters.py shapes them.

_POST = Post._meta.db_table
_COMMENT = Comment._meta.db_table
_USER = User._meta.db_table
_POST_LIKE = PostLike._meta.db_table
_COMMENT_LIKE = CommentLike._meta.db_table

# id, author id, author username, content, created_at, like_count, comment_count, deleted_at,
# liked by the viewer
PostRow = tuple[int, int, str, str, datetime, int, int, datetime | None, bool]
# id, parent id, author id, author username, content, created_at, like_count, depth,
# deleted_at, liked by the viewer
CommentRow = tuple[int, int | None, int, str, str, datetime, int, int, datetime | None, bool]
# Where a PostRow's timestamps and truth value are (read_rows types them on SQLite).
_POST_TYPES: dict[str, tuple[int, ...]] = {"times": (4, 7), "flags": (8,)}


def _post_select(viewer_id: int | None) -> tuple[str, list[Any]]:
    liked = f"EXISTS (SELECT 1 FROM {_POST_LIKE} l WHERE l.post_id = p.id AND l.user_id = %s)"
    return (
        f"SELECT p.id, p.author_id, u.username, p.content, p.created_at, p.like_count, p.comment_count,"
        f" p.deleted_at, {'FALSE' if viewer_id is None else liked}"
        f" FROM {_POST} p JOIN {_USER} u ON u.id = p.author_id",
        [] if viewer_id is None else [viewer_id],
    )


def _feed_page_sql(viewer_id: int | None, before: tuple[datetime, int] | None, size: int) -> tuple[str, list[Any]]:
    sql, params = _post_select(viewer_id)
    sql += " WHERE p.deleted_at IS NULL"
    if before is not None:
        created_at, post_id = before
        # Row comparison: the (created_at, id) order the feed_post_newest index keeps.
        sql += " AND (p.created_at, p.id) < (%s, %s)"
        params += [created_at, post_id]
    return sql + " ORDER BY p.created_at DESC, p.id DESC LIMIT %s", [*params, size + 1]


def feed_page(*, viewer: User | None, before: tuple[datetime, int] | None, size: int) -> list[PostRow]:
    """Up to size + 1 posts, newest first, strictly older than the `before` position; none
    deleted: one query."""
    sql, params = _feed_page_sql(_viewer_id(viewer), before, size)
    return fetch(sql, params, **_POST_TYPES)


async def afeed_page(*, viewer: User | None, before: tuple[datetime, int] | None, size: int) -> list[PostRow]:
    """feed_page on an event loop, PostgreSQL only: the same one query, on the loop's pool."""
    return await afetch(*_feed_page_sql(_viewer_id(viewer), before, size))


def post_get(*, post_id: int, viewer: User | None) -> PostRow | None:
    """The post, deleted or not (a deleted one is shown as a placeholder at its URL): one query."""
    sql, params = _post_select(_viewer_id(viewer))
    rows = fetch(sql + " WHERE p.id = %s", [*params, post_id], **_POST_TYPES)
    return rows[0] if rows else None


@dataclass(frozen=True)
class Thread:
    post: PostRow
    comments: list[CommentRow]


def thread_get(*, post_id: int, viewer: User | None) -> Thread | None:
    """A post and its whole thread with the viewer's likes: two queries, whatever the size."""
    post = post_get(post_id=post_id, viewer=viewer)
    if post is None:
        return None
    return Thread(post=post, comments=thread_comments(post_id=post_id, viewer=viewer))


def thread_comments(*, post_id: int, viewer: User | None) -> list[CommentRow]:
    """Every comment of a post, deleted ones too (placeholders), oldest first, each with
    whether the viewer liked it: one query."""
    viewer_id = _viewer_id(viewer)
    # One pass over the viewer's likes of comments, looked up by hash, not a probe per comment.
    liked = f"c.id IN (SELECT comment_id FROM {_COMMENT_LIKE} WHERE user_id = %s)"
    sql = (
        f"SELECT c.id, c.parent_id, c.author_id, u.username, c.content, c.created_at, c.like_count,"
        f" c.depth, c.deleted_at, {'FALSE' if viewer_id is None else liked}"
        f" FROM {_COMMENT} c JOIN {_USER} u ON u.id = c.author_id"
        f" WHERE c.post_id = %s ORDER BY c.id"
    )
    return fetch(sql, [post_id] if viewer_id is None else [viewer_id, post_id], times=(5, 8), flags=(9,))


def posts_live_state(*, post_ids: list[int]) -> list[dict[str, Any]]:
    """The snapshot a socket gets when it subscribes: deleted posts too (their thread is still
    shown), marked `deleted` so a client that missed `post.deleted` learns of it."""
    rows = Post.all_objects.filter(pk__in=post_ids).values(
        "id", "like_count", "comment_count", "likes_version", "deleted_at"
    )
    return [
        {
            "id": r["id"],
            "like_count": r["like_count"],
            "comment_count": r["comment_count"],
            "version": r["likes_version"],
            "deleted": r["deleted_at"] is not None,
        }
        for r in rows.order_by("id")
    ]


# --- karma ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    id: int
    username: str
    karma_24h: int
    karma_total: int


def _received(like_table: str) -> str:
    """Likes a user received, in all and since the window's start, self-likes left out: one
    index range of the table's (recipient, created_at) index, counted twice in one pass."""
    return (
        f"LATERAL (SELECT count(*) AS total, count(*) FILTER (WHERE l.created_at > %s) AS recent"
        f" FROM {like_table} l WHERE l.recipient_id = u.id AND l.user_id <> u.id)"
    )


def _received_on_sqlite(like_table: str) -> str:
    """The same two counts as two subqueries, for SQLite, which has no LATERAL."""
    likes = f"FROM {like_table} l WHERE l.recipient_id = u.id AND l.user_id <> u.id"
    return f"(SELECT count(*) {likes}), (SELECT count(*) {likes} AND l.created_at > %s)"


def user_profile(*, username: str, now: datetime | None = None) -> Profile | None:
    """A user with karma derived from the likes that exist: one query."""
    since = karma_window_start(now)
    # lower() = lower(): the expression of the unique constraint on usernames, so its index.
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT u.id, u.username, pl.total, pl.recent, cl.total, cl.recent"
            f" FROM {_USER} u, {_received(_POST_LIKE)} pl, {_received(_COMMENT_LIKE)} cl"
            f" WHERE lower(u.username) = lower(%s)"
        )
    else:
        sql = (
            f"SELECT u.id, u.username, {_received_on_sqlite(_POST_LIKE)}, {_received_on_sqlite(_COMMENT_LIKE)}"
            f" FROM {_USER} u WHERE lower(u.username) = lower(%s)"
        )
    rows = fetch(sql, [since, since, username])
    if not rows:
        return None
    user_id, name, post_total, post_recent, comment_total, comment_recent = rows[0]
    post_points = settings.KARMA["POST_LIKE_POINTS"]
    comment_points = settings.KARMA["COMMENT_LIKE_POINTS"]
    return Profile(
        id=user_id,
        username=name,
        karma_24h=post_recent * post_points + comment_recent * comment_points,
        karma_total=post_total * post_points + comment_total * comment_points,
    )


def leaderboard_top() -> list[dict[str, Any]]:
    """The top of the karma window: an index read of the derived table, one query."""
    rows = fetch(
        f"SELECT k.user_id, u.username, k.karma FROM {KarmaWindow._meta.db_table} k"
        f" JOIN {_USER} u ON u.id = k.user_id WHERE k.karma > 0 ORDER BY k.karma DESC, u.username LIMIT %s",
        [settings.KARMA["LEADERBOARD_SIZE"]],
    )
    return [
        {"rank": rank, "user": {"id": user_id, "username": username}, "karma": karma}
        for rank, (user_id, username, karma) in enumerate(rows, start=1)
    ]


def karma_by_recipient(*, after: datetime, until: datetime | None = None) -> dict[int, int]:
    """Karma each user earned from likes created in (after, until], summed from the likes.

    The slow, obviously right answer the karma window is checked against, and what the
    window subtracts as likes age out: one GROUP BY per like table.
    """
    totals: dict[int, int] = {}
    sources = (
        (PostLike.objects.all(), settings.KARMA["POST_LIKE_POINTS"]),
        (CommentLike.objects.all(), settings.KARMA["COMMENT_LIKE_POINTS"]),
    )
    for likes, points in sources:
        likes = likes.filter(created_at__gt=after)
        if until is not None:
            likes = likes.filter(created_at__lte=until)
        counts = likes.exclude(user_id=F("recipient_id")).order_by().values_list("recipient_id").annotate(n=Count("id"))
        for recipient_id, n in counts:
            totals[recipient_id] = totals.get(recipient_id, 0) + n * points
    return totals


def karma_window_totals() -> dict[int, int]:
    return dict(KarmaWindow.objects.filter(karma__gt=0).values_list("user_id", "karma"))
