"""Rows the feed needs before any request, shared by its data migration and post_migrate."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone


def create_leaderboard_state(apps: Any, *, using: str) -> None:
    """The leaderboard's one state row, if missing: the window starts a window's length ago."""
    try:
        state = apps.get_model("feed", "LeaderboardState")
    except LookupError:  # a migration state from before the model existed
        return
    now = timezone.now()
    window_start = now - timedelta(hours=settings.KARMA["WINDOW_HOURS"])
    state.objects.using(using).get_or_create(pk=1, defaults={"window_start": window_start, "computed_at": now})
