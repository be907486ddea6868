"""A PostgreSQL pool for code that runs on the event loop itself, one per loop.

Django's ORM is synchronous: under ASGI a view runs in a worker thread, and each request pays
the hop there and back. The few requests answered on the loop (feed.async_likes,
feed.async_reads) take their connection from this pool instead. It connects as Django's own
connection does (the same DATABASES entry, tests' database included, in Django's time zone, so
timestamps read come back as Django's own reads have them), in autocommit, so one statement is
one round trip and its own transaction; psycopg prepares a statement run often.

Its size is a setting of its own (DB_LOOP_POOL_MAX), smaller than Django's pool: with its
statements this short, a few connections keep PostgreSQL busy, and each one more is a backend
that starts cold when a freshly started worker meets its first burst of requests."""

import asyncio
import weakref
from typing import Any

from django.conf import settings
from django.db import connection
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

# What Django passes psycopg for its own cursors and adapters, not connection settings.
_DJANGO_ONLY = ("cursor_factory", "context", "prepare_threshold")

_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncConnectionPool[AsyncConnection[Any]]] = (
    weakref.WeakKeyDictionary()
)


def available() -> bool:
    """Whether the deployment's database is PostgreSQL (the pool has nothing else to connect to)."""
    return bool(connection.vendor == "postgresql")


async def pool() -> AsyncConnectionPool[AsyncConnection[Any]]:
    """This loop's pool, opened on first use (its connections are made in the background)."""
    loop = asyncio.get_running_loop()
    found = _pools.get(loop)
    if found is None:
        params = {k: v for k, v in connection.get_connection_params().items() if k not in _DJANGO_ONLY}
        options = settings.DATABASES["default"]["OPTIONS"].get("pool", {})
        found = AsyncConnectionPool(
            kwargs={**params, "autocommit": True},
            min_size=1,
            max_size=settings.DB_LOOP_POOL_MAX,
            timeout=float(options.get("timeout", 10.0)),
            configure=_in_djangos_time_zone,
            open=False,
            name="on-the-loop",
        )
        _pools[loop] = found
        # Opening only starts the connection tasks: a request that comes meanwhile waits in
        # `connection()` for the first one, as it would for a busy pool.
        await found.open()
    return found


async def _in_djangos_time_zone(db: AsyncConnection[Any]) -> None:
    await db.execute("SELECT set_config('TimeZone', %s, false)", [connection.timezone_name])


async def close_pool() -> None:
    """Close this loop's pool, if it has one (server shutdown, the end of a test)."""
    found = _pools.pop(asyncio.get_running_loop(), None)
    if found is not None:
        await found.close()
