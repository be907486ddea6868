"""Reads for accounts."""

from accounts.models import User


def user_get_by_username(*, username: str) -> User | None:
    return User.objects.filter(username__iexact=username).only("id", "username").first()
