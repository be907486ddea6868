"""A like or an unlike on SQLite: the statements of `feed.likes.statements` one by one.

SQLite has no data-modifying CTEs, so the steps run in one transaction, each only when the
one before changed a row. SQLite lets one writer in at a time, so no step interleaves with
another request's.
"""

from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

from feed.likes import statements as sql

if TYPE_CHECKING:
    from feed.likes import LikeTarget

_INSERT = (
    "INSERT INTO {likes} (user_id, {column}, recipient_id, created_at) "
    "VALUES (%(user_id)s, %(object_id)s, %(recipient_id)s, %(now)s) "
    "ON CONFLICT (user_id, {column}) DO NOTHING RETURNING recipient_id"
)
_DELETE = "DELETE FROM {likes} WHERE user_id = %(user_id)s AND {column} = %(object_id)s RETURNING created_at"
_KARMA_ADD = sql.karma_add(recipient="%(recipient_id)s", source="")
_KARMA_TAKE_BACK = sql.karma_take_back(recipient="%(recipient_id)s", liked_at="%(liked_at)s", source="")


def _one(cursor: Any, template: str, names: dict[str, str], params: dict[str, Any]) -> tuple[Any, ...] | None:
    cursor.execute(template.format(guard="", **names), params)
    return cursor.fetchone()


def _write(target: "LikeTarget", params: dict[str, Any], *, liked: bool) -> tuple[Any, ...] | None:
    names = target.names()
    with transaction.atomic(), connection.cursor() as cursor:
        found = _one(cursor, sql.TARGET, names, params)
        if found is None:
            return None
        _, author_id, post_id = found
        params = {**params, "recipient_id": author_id}
        changed = _one(cursor, _INSERT if liked else _DELETE, names, params)
        if changed is None:
            return (author_id, post_id, None, None)
        like_count, version = _one(cursor, sql.bump("+" if liked else "-"), names, params)  # type: ignore[misc]
        if liked:
            cursor.execute(_KARMA_ADD.format(**names), params)
        else:
            cursor.execute(_KARMA_TAKE_BACK.format(**names), {**params, "liked_at": changed[0]})
        return (author_id, post_id, like_count, version)


def set_like(target: "LikeTarget", params: dict[str, Any]) -> tuple[Any, ...] | None:
    return _write(target, params, liked=True)


def clear_like(target: "LikeTarget", params: dict[str, Any]) -> tuple[Any, ...] | None:
    return _write(target, params, liked=False)
