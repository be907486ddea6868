"""Liking and unliking: one algorithm, one interface, two SQL dialects.

The algorithm, whichever engine runs it:
1. the content must exist (else `NotFound`);
2. insert (or delete) the like row: the unique constraint decides who did;
3. only when a row really changed, move the content's like_count and likes_version (adding
   to the stored value under its row lock) and the recipient's karma window, by the rules in
   `feed.likes.statements` (stated once, used by both dialects);
4. answer the new count and version, or the current ones when nothing changed.

`postgres` runs it as one statement (data-modifying CTEs: one round trip, one implicit
transaction, the whole database cost of a like request). `sqlite`, for the embedded default,
which has no data-modifying CTEs, runs the same statements one at a time in a transaction
(SQLite serialises writers, so nothing interleaves). `tests/feed/test_likes.py` runs against both.
`write_on_loop` runs the PostgreSQL statement from an event loop, on an asyncio connection
(the like road of feed.async_likes); tests/feed/test_like_roads.py covers it.
"""

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from feed.likes import postgres, sqlite, statements
from feed.models import Comment, CommentLike, Post, PostLike

if TYPE_CHECKING:
    import psycopg


class NotFound(Exception):
    pass


@dataclass(frozen=True)
class LikeTarget:
    """What differs between liking a post and liking a comment."""

    content_model: type[Post] | type[Comment]
    like_model: type[PostLike] | type[CommentLike]
    column: str  # the like table's foreign key to the content
    post_id_column: str  # the content's own id for a post, its post_id for a comment
    points_setting: str

    def names(self) -> dict[str, str]:
        return statements.names(
            content=self.content_model._meta.db_table,
            likes=self.like_model._meta.db_table,
            column=self.column,
            post_id=self.post_id_column,
        )


POST = LikeTarget(Post, PostLike, column="post_id", post_id_column="id", points_setting="POST_LIKE_POINTS")
COMMENT = LikeTarget(
    Comment, CommentLike, column="comment_id", post_id_column="post_id", points_setting="COMMENT_LIKE_POINTS"
)


@dataclass(frozen=True)
class LikeWrite:
    """The outcome of one like or unlike."""

    liked: bool
    like_count: int
    version: int
    # False when the like already was (or was not) there: nothing moved, nothing to push.
    changed: bool
    author_id: int
    post_id: int


def write(target: LikeTarget, *, user_id: int, object_id: int, liked: bool) -> LikeWrite:
    """Set (liked=True) or clear this user's like; NotFound when the content does not exist."""
    params = _params(target, user_id=user_id, object_id=object_id)
    params["now"] = connection.ops.adapt_datetimefield_value(params["now"])
    dialect = postgres if connection.vendor == "postgresql" else sqlite
    row = dialect.set_like(target, params) if liked else dialect.clear_like(target, params)
    written = _outcome(target, row, object_id=object_id, liked=liked)
    if written.changed:
        return written
    # Nothing changed, perhaps because a concurrent request did the same and committed
    # while this one waited on it: a new statement sees that request's count.
    like_count, version = current_count(target, object_id)
    return replace(written, like_count=like_count, version=version)


async def write_on_loop(
    target: LikeTarget, *, user_id: int, object_id: int, liked: bool, db: "psycopg.AsyncConnection[Any]"
) -> LikeWrite:
    """`write` on PostgreSQL from an event loop: the same statement, on `db` (in autocommit)."""
    params = _params(target, user_id=user_id, object_id=object_id)
    row = await (await db.execute(postgres.statement(target, liked=liked), params)).fetchone()
    written = _outcome(target, row, object_id=object_id, liked=liked)
    if written.changed:
        return written
    recount = await db.execute(postgres.current_count(target), {"object_id": object_id})
    like_count, version = await recount.fetchone() or (0, 0)
    return replace(written, like_count=like_count, version=version)


def _params(target: LikeTarget, *, user_id: int, object_id: int) -> dict[str, Any]:
    return {
        "object_id": object_id,
        "user_id": user_id,
        "points": settings.KARMA[target.points_setting],
        "now": timezone.now(),
    }


def _outcome(target: LikeTarget, row: tuple[Any, ...] | None, *, object_id: int, liked: bool) -> LikeWrite:
    """What the statement's row says; when nothing changed, the count is still to be read."""
    if row is None:
        raise NotFound(f"{target.content_model.__name__} {object_id}")
    author_id, post_id, like_count, version = row
    changed = like_count is not None
    return LikeWrite(
        liked, like_count if changed else 0, version if changed else 0, changed, author_id=author_id, post_id=post_id
    )


def current_count(target: LikeTarget, object_id: int) -> tuple[int, int]:
    row = target.content_model._default_manager.filter(pk=object_id).values_list("like_count", "likes_version").first()
    return row or (0, 0)
