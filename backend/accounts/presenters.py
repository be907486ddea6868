"""A user as the protocol's `User` shape, for the accounts endpoints and every app that shows authors."""

from typing import Any

from accounts.models import User


def user_data(user: User) -> dict[str, Any]:
    return {"id": user.pk, "username": user.username}
