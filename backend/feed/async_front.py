"""What the roads on the event loop share (feed.async_likes, feed.async_reads).

Each is an ASGI app that answers a few requests on the loop itself and hands every other one,
and every one it cannot answer exactly as Django would, to `django_app` whole. What they have
in common lives here, once:
- whether the deployment has them at all: PostgreSQL for the loop's own pool
  (core.async_database) and the cached_db sessions in Redis (read with an asyncio client, in
  the cache's own format: config.django_redis_cache);
- the session's user, verified as Django verifies it (the backend named, the password hash),
  against the user row as Django's authentication loads it (accounts.backends.CachedModelBackend,
  which remembers it for a few seconds);
- what Django's middleware does to a request before the view (RequestChecks): where it would
  redirect or refuse it, the road hands it over;
- the answer: its headers from Django's own middleware classes that set them, learned once,
  the request log and latency metric from ops.middleware.record_request.
"""

import asyncio
import uuid
import weakref
from collections.abc import Awaitable, Callable
from importlib import import_module
from typing import Any

import psycopg
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.middleware.common import CommonMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.crypto import constant_time_compare
from django.utils.module_loading import import_string

from accounts.backends import CachedModelBackend
from accounts.models import User
from config import django_redis_cache
from core import async_database
from ops.middleware import record_request

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]

_SESSIONS_IN_THE_CACHE = "accounts.sessions.cached_db"

# The MIDDLEWARE entries whose work on these answers is headers (security, framing, length).
# The others act on the request, and the roads do their part themselves: the request log,
# sessions, CSRF and authentication; or they never act on these paths (static files, the
# admin's messages, the ASGI boundary, the 503 translation).
_ANSWER_HEADERS = (
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ops.framing.FrameAncestorsMiddleware",
    "django.middleware.common.CommonMiddleware",
)


def available() -> bool:
    """Whether this deployment can answer on the loop: PostgreSQL, sessions in Redis."""
    return (
        async_database.available()
        and settings.REDIS_SERVERS is not None
        and settings.SESSION_ENGINE == _SESSIONS_IN_THE_CACHE
    )


class NotHere(Exception):
    """The road does not answer the request: Django does."""


def has_body(scope: dict[str, Any]) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"transfer-encoding" or (name == b"content-length" and value not in (b"", b"0")):
            return True
    return False


def _no_view(request: HttpRequest) -> None:
    raise AssertionError("only the middleware's request checks are called")


class RequestChecks:
    """What Django's middleware does to a request before any view runs, as the roads need it:
    NotHere where Django would act on it itself (redirect it to HTTPS or to www, refuse its
    host or its user agent; with `csrf_cookie`, set a new CSRF cookie, as a read may), so that
    Django answers it."""

    def __init__(self, *, csrf_cookie: bool) -> None:
        self._common = CommonMiddleware(_no_view)  # type: ignore[arg-type]
        self._csrf = CsrfViewMiddleware(_no_view) if csrf_cookie else None  # type: ignore[arg-type]

    def __call__(self, request: HttpRequest) -> None:
        if settings.SECURE_SSL_REDIRECT and not request.is_secure():
            raise NotHere  # SecurityMiddleware's redirect
        try:
            redirect = self._common.process_request(request)
            if self._csrf is not None:
                self._csrf.process_request(request)
        except Exception:  # noqa: BLE001 - whatever Django makes of it, Django answers it
            raise NotHere from None
        if redirect is not None or request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
            raise NotHere


_redis_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()


def redis_here() -> Any:
    """This loop's asyncio client of the sessions cache's Redis (a client belongs to its loop)."""
    loop = asyncio.get_running_loop()
    client = _redis_clients.get(loop)
    if client is None:
        servers = settings.REDIS_SERVERS
        assert servers is not None, "available() holds"
        client = _redis_clients[loop] = servers.async_client()
    return client


class SessionKeys:
    """Where the cache keeps the session a cookie names: the key Django's cached_db engine uses."""

    def __init__(self) -> None:
        self.store = import_module(settings.SESSION_ENGINE).SessionStore
        self.cache = caches["default"]

    def __call__(self, cookie: str | None) -> str | None:
        """The session's cache key; None without a cookie or with one Django finds malformed."""
        store = self.store(cookie)
        return None if store.session_key is None else str(self.cache.make_key(store.cache_key))


def cached_session(raw: bytes | None) -> dict[str, Any]:
    """A session as the cache holds it; NotHere when it is not there (Django reads it from the
    database and puts it back in the cache)."""
    if raw is None:
        raise NotHere
    session: dict[str, Any] = django_redis_cache.decode(raw)
    return session


def session_user_id(session: dict[str, Any]) -> int:
    """The user id a session names, read as django.contrib.auth reads it; else NotHere."""
    if session.get(BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS:
        raise NotHere
    try:
        return int(User._meta.pk.to_python(session.get(SESSION_KEY)))
    except (ValidationError, TypeError):
        raise NotHere from None


async def verified_user(user_id: int, session: dict[str, Any]) -> User:
    """The session's user, as django.contrib.auth.get_user would accept it; else NotHere."""
    try:
        user = CachedModelBackend.remembered(user_id) or await CachedModelBackend().aget_user(user_id)
    except psycopg.Error:
        raise NotHere from None  # Django answers the outage
    # Django's check of the session against the password (a changed password ends it); a
    # hash made with an older secret key is for Django to rotate.
    session_hash = session.get(HASH_SESSION_KEY)
    if user is None or not session_hash or not constant_time_compare(session_hash, user.get_session_auth_hash()):
        raise NotHere
    return user


class AnswerHeaders:
    """What Django's header middleware adds to an answer of these roads.

    It depends only on the settings and on whether the request came over HTTPS, so it is
    learned once for each by passing an empty answer through the chain.
    """

    def __init__(self) -> None:
        def answer(request: HttpRequest) -> HttpResponse:
            return request.answer  # type: ignore[attr-defined]

        handler: Callable[[HttpRequest], HttpResponse] = answer
        for path in reversed(settings.MIDDLEWARE):
            if path in _ANSWER_HEADERS:
                handler = import_string(path)(handler)
        self.chain = handler
        self._learned: dict[bool, list[tuple[str, str]]] = {}

    def __call__(self, request: HttpRequest) -> list[tuple[str, str]]:
        secure = request.is_secure()
        learned = self._learned.get(secure)
        if learned is None:
            probe = HttpResponse(b"", content_type="application/json")
            own = {*probe.headers, "Content-Length"}
            request.answer = probe  # type: ignore[attr-defined]
            learned = [(name, value) for name, value in self.chain(request).items() if name not in own]
            self._learned[secure] = learned
        return learned


async def send_json(
    send: Send,
    request: HttpRequest,
    content: bytes,
    *,
    status: int,
    headers: list[tuple[str, str]],
    route: str,
    started: float,
    user_id: int | None,
) -> None:
    """Send a JSON answer with Django's headers after `headers`, logged and counted as Django's
    request log middleware does."""
    every_header = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(content))),
        *headers,
        *record_request(
            request_id=request.headers.get("X-Request-ID") or uuid.uuid4().hex,
            method=request.method or "",
            route=route,
            path=request.path,
            status=status,
            started=started,
            user_id=user_id,
        ),
    ]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in every_header],
        }
    )
    await send({"type": "http.response.body", "body": content})
