"""Logged-in sessions for load testers, so a run does not start by hammering login."""

import json
from importlib import import_module
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.middleware.csrf import _get_new_csrf_string
from tqdm import tqdm

from accounts.models import User


class Command(BaseCommand):
    help = "Create N users (load_0001...) with logged-in sessions; write sessionid + csrftoken pairs as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
        parser.add_argument("--prefix", default="load_", help="username prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["count"]
        if count < 1:
            raise CommandError("--count must be at least 1")
        prefix: str = options["prefix"]
        names = [f"{prefix}{i:05d}" for i in range(1, count + 1)]
        password = make_password(None)  # unusable: these accounts only ever use the session
        existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
        User.objects.bulk_create(
            (User(username=n, password=password) for n in names if n not in existing), batch_size=1000
        )
        users = list(User.objects.filter(username__in=names).order_by("username"))
        backend = settings.AUTHENTICATION_BACKENDS[0]
        # The deployment's engine, as a login uses: with Redis the session is cached too.
        SessionStore = import_module(settings.SESSION_ENGINE).SessionStore  # noqa: N806
        sessions = []
        for user in tqdm(users, desc="sessions", unit="session", disable=None):
            store = SessionStore()
            store[SESSION_KEY] = str(user.pk)
            store[BACKEND_SESSION_KEY] = backend
            store[HASH_SESSION_KEY] = user.get_session_auth_hash()
            store.create()
            sessions.append(
                {
                    "user_id": user.pk,
                    "username": user.username,
                    "sessionid": store.session_key,
                    # A CSRF secret is valid by itself as the cookie and the header value.
                    "csrftoken": _get_new_csrf_string(),
                }
            )
        options["out"].write_text(
            json.dumps(
                {
                    "cookie_names": {"session": settings.SESSION_COOKIE_NAME, "csrf": settings.CSRF_COOKIE_NAME},
                    "sessions": sessions,
                },
                indent=1,
            )
        )
        self.stdout.write(self.style.SUCCESS(f"Wrote {len(sessions)} sessions to {options['out']}"))
