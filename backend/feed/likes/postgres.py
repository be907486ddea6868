"""A like or an unlike on PostgreSQL: one statement, one round trip.

Data-modifying CTEs insert (or delete) the like, move the counter and the karma window and
read back what changed; every step after the insert (or delete) runs only if it returned a
row. Outside a transaction the statement is its own transaction.
"""

import functools
from typing import TYPE_CHECKING, Any

from django.db import connection

from feed.likes import statements as sql

if TYPE_CHECKING:
    from feed.likes import LikeTarget

_SET = f"""
WITH target AS ({sql.TARGET}
), inserted AS (
    INSERT INTO {{likes}} (user_id, {{column}}, recipient_id, created_at)
    SELECT %(user_id)s, id, author_id, %(now)s FROM target
    ON CONFLICT (user_id, {{column}}) DO NOTHING
    RETURNING recipient_id
), bumped AS ({sql.bump("+")}
), karma AS ({sql.karma_add(recipient="recipient_id", source="FROM inserted")}
)
SELECT target.author_id, target.post_id, bumped.like_count, bumped.likes_version
FROM target LEFT JOIN bumped ON TRUE
"""

_CLEAR = f"""
WITH target AS ({sql.TARGET}
), deleted AS (
    DELETE FROM {{likes}} WHERE user_id = %(user_id)s AND {{column}} IN (SELECT id FROM target)
    RETURNING recipient_id, created_at
), bumped AS ({sql.bump("-")}
), karma AS ({
    sql.karma_take_back(
        recipient="deleted.recipient_id", liked_at="deleted.created_at", source="FROM deleted", lock=" FOR SHARE"
    )
}
)
SELECT target.author_id, target.post_id, bumped.like_count, bumped.likes_version
FROM target LEFT JOIN bumped ON TRUE
"""


@functools.cache
def statement(target: "LikeTarget", *, liked: bool) -> str:
    """The whole like (liked=True) or unlike as one SQL text, with pyformat parameters."""
    if liked:
        return _SET.format(guard=" AND EXISTS (SELECT 1 FROM inserted)", **target.names())
    return _CLEAR.format(guard=" AND EXISTS (SELECT 1 FROM deleted)", **target.names())


@functools.cache
def current_count(target: "LikeTarget") -> str:
    """The content's like count and version, as they are now."""
    return "SELECT like_count, likes_version FROM {content} WHERE id = %(object_id)s".format(**target.names())


def _run(target: "LikeTarget", params: dict[str, Any], *, liked: bool) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(statement(target, liked=liked), params)
        return cursor.fetchone()


def set_like(target: "LikeTarget", params: dict[str, Any]) -> tuple[Any, ...] | None:
    return _run(target, params, liked=True)


def clear_like(target: "LikeTarget", params: dict[str, Any]) -> tuple[Any, ...] | None:
    return _run(target, params, liked=False)
