"""Session engines that refuse a session key Django could not have made before it is queried.

A cookie may carry anything, an escaped NUL byte included, which PostgreSQL refuses in a
query with an error (a 500 over HTTP, a failed websocket handshake). Django makes keys of
lowercase letters and digits; any other key is treated as no session, as a too-short one is.
Django asks `_validate_session_key` whenever a key is set: the one hook this module uses.
"""

from typing import Any

from django.contrib.sessions.backends.base import VALID_KEY_CHARS

_KEY_CHARS = frozenset(VALID_KEY_CHARS)
# The length of Session.session_key's column.
_MAX_KEY_LENGTH = 40


class StrictKeyMixin:
    def _validate_session_key(self, key: Any) -> bool:
        return (
            isinstance(key, str)
            and len(key) <= _MAX_KEY_LENGTH
            and _KEY_CHARS.issuperset(key)
            and bool(super()._validate_session_key(key))  # type: ignore[misc]
        )
