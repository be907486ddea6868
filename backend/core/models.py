from django.conf import settings
from django.db import models


class IdempotencyKey(models.Model):
    """A create that succeeded under a client's Idempotency-Key: its answer, replayed to retries.

    The unique (user, key) constraint is what decides between two requests racing with one
    key; the row is inserted in the same transaction as the create it answers for.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of method, path and body: a retry must repeat the request it stands for.
    fingerprint = models.CharField(max_length=64)
    # 0 and empty only inside the claiming transaction; every committed row holds its answer.
    status = models.PositiveSmallIntegerField(default=0)
    body = models.TextField(default="")
    # Indexed for the purge of keys older than 24 hours.
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
