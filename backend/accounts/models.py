from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower


class User(AbstractUser):
    """A KarmaFeed member. Karma is never stored here: it is derived from likes."""

    class Meta:
        constraints = [
            # "Alice" and "alice" are the same name; the database enforces it under any race.
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
        ]
