"""Writes for accounts: every function keyword-only and atomic."""

from django.contrib.auth import password_validation
from django.db import IntegrityError, transaction

from accounts.models import User


class UsernameTaken(Exception):
    pass


@transaction.atomic
def user_create(*, username: str, password: str) -> User:
    user = User(username=username)
    # Raises django.core.exceptions.ValidationError with the validators' messages.
    password_validation.validate_password(password, user=user)
    user.set_password(password)
    if User.objects.filter(username__iexact=username).exists():
        raise UsernameTaken(username)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        # Two signups for the same name at once: the case-insensitive constraint decides.
        raise UsernameTaken(username) from exc
    return user
