"""Session authentication without a user query on every request."""

import copy
import functools
import threading
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.backends import ModelBackend
from django.db import connection

from accounts.models import User
from core import async_database

# How long a worker trusts a user row it loaded. Django re-checks the session's password hash
# against this row on every request, so a password change (or a deactivation) made by another
# worker ends the user's other sessions within this many seconds; one saved by this worker
# does at once (forget_user below), and a logout deletes the session at once.
USER_CACHE_SECONDS = 10.0
_MAX_CACHED_USERS = 10_000


class CachedModelBackend(ModelBackend):
    """ModelBackend that remembers the rows of logged-in users for a few seconds per worker.

    Every authenticated API call loads its user to verify the session; on the write path
    that query was as costly as the write itself.
    """

    _users: dict[Any, tuple[float, User | None]] = {}
    _lock = threading.Lock()

    def get_user(self, user_id: Any) -> User | None:
        now = time.monotonic()
        cached = self._users.get(user_id)
        if cached is not None and cached[0] > now:
            user = cached[1]
        else:
            user = super().get_user(user_id)
            self._remember(user_id, user, now)
        # A copy per request: code that sets attributes on request.user stays within it.
        return copy.copy(user)

    @classmethod
    def remembered(cls, user_id: Any) -> User | None:
        """This worker's fresh row of an active user, without a query; None if it has none.

        The row itself, not a copy: for readers only (the like road on the event loop).
        """
        cached = cls._users.get(user_id)
        if cached is None or cached[0] <= time.monotonic():
            return None
        return cached[1]

    async def aget_user(self, user_id: Any) -> User | None:
        """get_user on an event loop: a row not remembered is read on the loop's own pool
        (core.async_database), with no hop to a thread for Django's ORM."""
        now = time.monotonic()
        cached = self._users.get(user_id)
        if cached is not None and cached[0] > now:
            return copy.copy(cached[1])
        if not async_database.available():
            return await sync_to_async(self.get_user)(user_id)
        db_pool = await async_database.pool()
        async with db_pool.connection() as db:
            row = await (await db.execute(_select_user(), {"id": user_id})).fetchone()
        user = User.from_db("default", _user_columns(), row) if row is not None else None
        if user is not None and not self.user_can_authenticate(user):
            user = None
        self._remember(user_id, user, now)
        return copy.copy(user)

    @classmethod
    def _remember(cls, user_id: Any, user: User | None, now: float) -> None:
        with cls._lock:
            if len(cls._users) >= _MAX_CACHED_USERS:
                cls._users.clear()
            cls._users[user_id] = (now + USER_CACHE_SECONDS, user)

    @classmethod
    def forget_user(cls, user_id: Any) -> None:
        with cls._lock:
            cls._users.pop(user_id, None)


@functools.cache
def _user_columns() -> list[str]:
    return [field.attname for field in User._meta.concrete_fields]


@functools.cache
def _select_user() -> str:
    columns = ", ".join(connection.ops.quote_name(field.column) for field in User._meta.concrete_fields)
    table, key = connection.ops.quote_name(User._meta.db_table), connection.ops.quote_name(User._meta.pk.column)
    return f"SELECT {columns} FROM {table} WHERE {key} = %(id)s"


def forget_saved_user(*, instance: User, **kwargs: Any) -> None:
    """post_save/post_delete of the user model: this worker reloads the row on next use."""
    CachedModelBackend.forget_user(instance.pk)
