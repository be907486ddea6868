"""Keeps the leaderboard fresh from each worker, at most once a second across all of them.

A like asks for a refresh after it commits; this task waits out the minimum interval (set
by whichever worker refreshed last, read from the database), then refreshes. It also
refreshes on its own every LEADERBOARD_MAX_INTERVAL, so karma ageing out of the 24-hour
window shows even when nobody likes anything.
"""

import asyncio
import contextlib
import logging

from channels.db import database_sync_to_async
from django.conf import settings

from feed.services import leaderboard_refresh
from realtime.publish import Publisher

logger = logging.getLogger(__name__)


async def refresh_forever(publisher: Publisher) -> None:
    min_interval = settings.REALTIME["LEADERBOARD_MIN_INTERVAL"]
    max_interval = settings.REALTIME["LEADERBOARD_MAX_INTERVAL"]
    wanted = publisher.leaderboard_wanted
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wanted.wait(), timeout=max_interval)
        wanted.clear()
        while True:
            try:
                result = await database_sync_to_async(leaderboard_refresh)(min_interval=min_interval)
            except Exception:
                logger.exception("leaderboard refresh failed")
                await asyncio.sleep(min_interval)
                break
            if result.retry_after is None:
                break
            # Another worker refreshed moments ago, maybe before our like committed: wait
            # out the interval and refresh again so the like is counted.
            await asyncio.sleep(result.retry_after)
