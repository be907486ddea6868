"""The database session engine, with keys checked (accounts.sessions)."""

from django.contrib.sessions.backends import db

from accounts.sessions import StrictKeyMixin


class SessionStore(StrictKeyMixin, db.SessionStore):
    pass
