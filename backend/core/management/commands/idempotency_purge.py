"""Delete Idempotency-Key records older than 24 hours; run it periodically (see README)."""

from typing import Any

from django.core.management.base import BaseCommand

from core import idempotency


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than 24 hours (their retries are handled as new requests)."

    def handle(self, *args: Any, **options: Any) -> None:
        purged = idempotency.purge_expired()
        self.stdout.write(f"purged {purged} idempotency key(s) older than {idempotency.KEY_LIFETIME}")
