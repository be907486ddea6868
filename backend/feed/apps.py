from typing import Any

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate


class FeedConfig(AppConfig):
    name = "feed"

    def ready(self) -> None:
        from feed.services import leaderboard_refresh
        from realtime.leaderboard import register_refresh

        post_migrate.connect(_restore_leaderboard_state, sender=self, dispatch_uid="feed.leaderboard_state")
        # The realtime runtime keeps the leaderboard fresh by running this write on time.
        register_refresh(leaderboard_refresh)


def _restore_leaderboard_state(*, using: str, apps: Any = global_apps, **kwargs: Any) -> None:
    """Put the leaderboard state row back after `flush` emptied every table.

    Migration 0002 creates the row; `flush` (also run between transactional tests) deletes it
    and then sends post_migrate (without `apps`: the current models), as it does so Django's
    content types come back.
    """
    from feed.migrations_support import create_leaderboard_state

    create_leaderboard_state(apps, using=using)
