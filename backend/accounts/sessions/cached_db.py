"""The cached database session engine, with keys checked (accounts.sessions)."""

from django.contrib.sessions.backends import cached_db

from accounts.sessions import StrictKeyMixin


class SessionStore(StrictKeyMixin, cached_db.SessionStore):
    pass
