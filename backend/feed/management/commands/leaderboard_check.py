"""Verify the karma window (and so the leaderboard) against the likes, from scratch."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from feed.services import karma_window_check, karma_window_rebuild


class Command(BaseCommand):
    help = "Compare every user's 24-hour karma in the derived window with the sum of their likes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repair", action="store_true", help="rebuild the window from likes when they differ")

    def handle(self, *args: Any, **options: Any) -> None:
        result = karma_window_check()
        self.stdout.write(
            f"window starts {result.window_start.isoformat()}; {result.users_checked} users with karma checked"
        )
        for rank_entry in result.top:
            self.stdout.write(f"  #{rank_entry['rank']} {rank_entry['user']['username']}: {rank_entry['karma']}")
        if result.ok:
            self.stdout.write(self.style.SUCCESS("OK: the leaderboard equals the from-scratch sum."))
            return
        for user_id, (window, scratch) in sorted(result.mismatches.items())[:20]:
            self.stdout.write(self.style.ERROR(f"  user {user_id}: window {window} != likes {scratch}"))
        if options["repair"]:
            karma_window_rebuild()
            self.stdout.write(self.style.WARNING(f"Rebuilt the window ({len(result.mismatches)} users differed)."))
            return
        raise CommandError(f"{len(result.mismatches)} users differ; rerun with --repair to rebuild")
