"""Stopping the realtime machinery's background tasks for sure.

On Python 3.11 asyncio.wait_for (which redis-py uses inside its commands) can swallow a
cancel that lands as the inner call completes; the task then goes on as if never told, and
a stopped runtime would keep a hub, a publisher or a ticker alive behind it.
"""

import asyncio
from collections.abc import Iterable


async def cancel_and_wait(tasks: Iterable["asyncio.Task[None]"]) -> None:
    """Cancel tasks and wait until they ended, cancelling again any that swallowed it."""
    pending = list(tasks)
    while pending:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.5)
        pending = [task for task in pending if not task.done()]
