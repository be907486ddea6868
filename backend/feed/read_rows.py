"""The feed's written-SQL reads (feed.selectors) on either engine: running them, typing their rows.

PostgreSQL hands back typed values; its timestamps load through psycopg's own loader, in C,
in place of the Python one Django sets on each cursor (which re-states a zone the session
already has: Django sets it to UTC). SQLite, the embedded default, hands back timestamps
naive (UTC, as Django stores them) and truth values as 0 and 1: the columns named as such
are typed here as Django's ORM would, and timestamps passed in take the stored form, so
they compare with it.
On an event loop (the roads of feed.async_front) the same SQL runs on the loop's own pool
(core.async_database), PostgreSQL only.
tests/feed/test_read_queries.py runs on both engines.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.utils.dateparse import parse_datetime
from psycopg.types.datetime import TimestamptzLoader

from core import async_database


def fetch(sql: str, params: Sequence[Any], *, times: Sequence[int] = (), flags: Sequence[int] = ()) -> list[Any]:
    """The rows of `sql`; on SQLite, the columns at `times` as aware datetimes, at `flags` as bools."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
            cursor.execute(sql, params)
            return cursor.fetchall()
        cursor.execute(sql, [_stored(value) for value in params])
        return [_typed(row, times, flags) for row in cursor.fetchall()]


async def afetch(sql: str, params: Sequence[Any]) -> list[Any]:
    """The rows of `sql` on this event loop's PostgreSQL pool: one round trip, typed as `fetch`'s."""
    db_pool = await async_database.pool()
    async with db_pool.connection() as db:
        return await (await db.execute(sql, params)).fetchall()


def _stored(value: Any) -> Any:
    return connection.ops.adapt_datetimefield_value(value) if isinstance(value, datetime) else value


def _typed(row: Sequence[Any], times: Sequence[int], flags: Sequence[int]) -> tuple[Any, ...]:
    typed = list(row)
    for index in times:
        value = typed[index]
        if isinstance(value, str):  # a computed column: sqlite3 converts only declared ones
            value = parse_datetime(value)
        if isinstance(value, datetime) and value.tzinfo is None:
            typed[index] = value.replace(tzinfo=UTC)
    for index in flags:
        typed[index] = bool(typed[index])
    return tuple(typed)
