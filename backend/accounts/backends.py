"""Session authentication without a user query on every request."""

import copy
import threading
import time
from typing import Any

from django.contrib.auth.backends import ModelBackend

from accounts.models import User

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
            with self._lock:
                if len(self._users) >= _MAX_CACHED_USERS:
                    self._users.clear()
                self._users[user_id] = (now + USER_CACHE_SECONDS, user)
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

    @classmethod
    def forget_user(cls, user_id: Any) -> None:
        with cls._lock:
            cls._users.pop(user_id, None)


def forget_saved_user(*, instance: User, **kwargs: Any) -> None:
    """post_save/post_delete of the user model: this worker reloads the row on next use."""
    CachedModelBackend.forget_user(instance.pk)
