"""Keeps the leaderboard fresh from each worker, at most once a second across all of them.

A like asks for a refresh after it commits; this task waits out the minimum interval (set
by whichever worker refreshed last, read from the database), then refreshes. It also
refreshes on its own every LEADERBOARD_MAX_INTERVAL, so karma ageing out of the 24-hour
window shows even when nobody likes anything.

The refresh itself is a write of the app that owns karma (feed.services.leaderboard_refresh),
which registers it here when Django starts (its AppConfig.ready): realtime only runs it on
time and imports no app's writes.
"""

import asyncio
import contextlib
import logging
from typing import Protocol

from channels.db import database_sync_to_async
from django.conf import settings

logger = logging.getLogger(__name__)


class RefreshResult(Protocol):
    @property
    def retry_after(self) -> float | None: ...


class LeaderboardRefresh(Protocol):
    """Recompute and push the leaderboard; `retry_after` when another worker did moments ago."""

    def __call__(self, *, min_interval: float) -> RefreshResult: ...


_registered: LeaderboardRefresh | None = None


def register_refresh(refresh: LeaderboardRefresh) -> None:
    global _registered
    _registered = refresh


def registered_refresh() -> LeaderboardRefresh:
    if _registered is None:
        raise RuntimeError("No leaderboard refresh registered: is the feed app in INSTALLED_APPS?")
    return _registered


async def refresh_forever(wanted: asyncio.Event) -> None:
    """Refresh when `wanted` is set (a like committed), and at least every max interval."""
    leaderboard_refresh = registered_refresh()
    min_interval = settings.REALTIME["LEADERBOARD_MIN_INTERVAL"]
    max_interval = settings.REALTIME["LEADERBOARD_MAX_INTERVAL"]
    while True:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel (realtime/tasks.py).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max_interval):
                await wanted.wait()
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
