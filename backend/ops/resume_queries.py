"""Counts the SQL statements run while a resume is being handled, on /metrics.

A resume within the backlog must read no database (it replays from the stream log). The
suite checks that on one socket; these counters show it on a running server under load,
where the load bench reads them: `karmafeed_resume_queries_total` divided by
`karmafeed_resume_messages_total` is the database queries per resume.

The resume handler marks its work with `counts_resume_queries`, a context variable that
asgiref's sync_to_async (and so Channels' database_sync_to_async) copies into the thread
that runs the query; a wrapper on every database connection counts the statements run while
it is set. Work of other tasks (the leaderboard ticker, other sockets' subscribes) runs in
their own contexts and is not counted.
"""

import functools
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from django.db.backends.base.base import BaseDatabaseWrapper

from ops import metrics

_in_resume: ContextVar[bool] = ContextVar("karmafeed_in_resume", default=False)

P = ParamSpec("P")
R = TypeVar("R")


def counts_resume_queries(handler: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Wrap the resume handler: its statements are counted, and each resume it answers."""

    @functools.wraps(handler)
    async def counted(*args: P.args, **kwargs: P.kwargs) -> R:
        token = _in_resume.set(True)
        try:
            answer = await handler(*args, **kwargs)
        finally:
            _in_resume.reset(token)
        metrics.RESUME_MESSAGES.inc()
        return answer

    return counted


def _count_statement(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Mapping[str, Any]) -> Any:
    if _in_resume.get():
        metrics.RESUME_QUERIES.inc()
    return execute(sql, params, many, context)


def install_on(connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """Receiver of connection_created: every database connection counts (once per wrapper object)."""
    if _count_statement not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count_statement)
