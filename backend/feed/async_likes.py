"""The like endpoints answered on the event loop: the ASGI counterpart of feed.lean_likes.

Under ASGI a Django view runs in a worker thread, and a like paid the hop there and back, the
whole middleware chain and DRF around one SQL statement. This ASGI app answers `POST` and
`DELETE /api/posts/{id}/like/` and `/api/comments/{id}/like/` on the loop itself: the session
and the throttle come from Redis in one round trip on an asyncio client, the statement runs
on an asyncio PostgreSQL connection (core.async_database), and the event goes to this loop's
publisher. Everything else, and every like it does not answer itself, goes to `django_app`.

What stays the same, by reuse rather than by copy:
- the like is `feed.services.like_on_loop` (the algorithm of feed.likes, its pushes);
- the session is the one Django's SessionMiddleware would load (the cached_db engine's cache
  entry, in the cache's own format: config.django_redis_cache), verified as Django verifies
  it (the backend named, the password hash), against the user row as Django's authentication
  loads it (accounts.backends.CachedModelBackend, which remembers it for a few seconds);
- CSRF is DRF's SessionAuthentication.enforce_csrf on a Django request of the same scope;
- the throttle is the `like` scope of core.throttling's, the same script on the same log
  (core.throttle_redis), so every road draws on one budget per user;
- the answer's headers come from Django's own middleware classes that set them, and the
  request log and latency metric from ops.middleware.record_request.
Whenever the answer is not a like's own (no session or one not in the cache, no such active
user, a hash that does not match, a CSRF refusal, throttled), the request goes to Django whole,
which answers it exactly as it always does. Only PostgreSQL with the Redis sessions cache has
this road (`available`); tests/feed/test_like_roads.py runs one set of cases against every road.
"""

import asyncio
import io
import logging
import re
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from importlib import import_module
from typing import Any

import orjson
import psycopg
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse
from django.urls import resolve
from django.utils.crypto import constant_time_compare
from django.utils.module_loading import import_string
from redis.exceptions import RedisError
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied

from accounts.backends import CachedModelBackend
from accounts.models import User
from config import django_redis_cache
from core import async_database, throttle_redis
from core.throttling import ScopedRateThrottle
from feed import apis, likes, services
from ops.errors import DATABASE_DOWN, RETRY_AFTER_SECONDS
from ops.middleware import record_request

logger = logging.getLogger(__name__)

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]

_LIKE_PATH = re.compile(r"/api/(posts|comments)/([0-9]{1,18})/like/")
_TARGETS = {"posts": likes.POST, "comments": likes.COMMENT}
_REST_VIEWS: dict[str, type[apis._LikeApi]] = {"posts": apis.PostLikeApi, "comments": apis.CommentLikeApi}
_LIKED = {"POST": True, "DELETE": False}
_SESSIONS_IN_THE_CACHE = "accounts.sessions.cached_db"
_MAX_REMEMBERED_SESSIONS = 100_000

# The MIDDLEWARE entries whose work on a like's answer is headers (security, framing, length).
# The others act on the request, and this road does their part itself: the request log,
# sessions, CSRF and authentication; or they never act on a like (static files, the admin's
# messages, the ASGI boundary, the 503 translation this road does itself).
_ANSWER_HEADERS = (
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ops.framing.FrameAncestorsMiddleware",
    "django.middleware.common.CommonMiddleware",
)


def available() -> bool:
    """Whether this deployment can answer likes on the loop: PostgreSQL, sessions in Redis."""
    return (
        settings.LIKE_ROAD == "lean"
        and async_database.available()
        and settings.REDIS_SERVERS is not None
        and settings.SESSION_ENGINE == _SESSIONS_IN_THE_CACHE
    )


class _NotHere(Exception):
    """This road does not answer the request: Django does."""


class AsyncLikes:
    """ASGI app: likes and unlikes answered on the loop, everything else by `django_app`."""

    def __init__(self, django_app: ASGIApp) -> None:
        self.django_app = django_app
        self.sessions = import_module(settings.SESSION_ENGINE).SessionStore
        self.cache = caches["default"]
        # Per event loop: an asyncio client belongs to the loop that made it.
        self._redis: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, throttle_redis.AsyncLog]] = (
            weakref.WeakKeyDictionary()
        )
        # Whose each session seen is: a session key never changes hands (a login makes a new one).
        self._session_users: dict[str, int] = {}
        self.allow = {kind: ", ".join(view().allowed_methods) for kind, view in _REST_VIEWS.items()}
        self.routes = {kind: resolve(f"/api/{kind}/1/like/").route for kind in _REST_VIEWS}
        self.headers_chain = self._headers_chain()
        self._learned_headers: dict[bool, list[tuple[str, str]]] = {}

    @staticmethod
    def _headers_chain() -> Callable[[HttpRequest], HttpResponse]:
        def answer(request: HttpRequest) -> HttpResponse:
            return request.answer  # type: ignore[attr-defined]

        handler: Callable[[HttpRequest], HttpResponse] = answer
        for path in reversed(settings.MIDDLEWARE):
            if path in _ANSWER_HEADERS:
                handler = import_string(path)(handler)
        return handler

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        match = _LIKE_PATH.fullmatch(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or scope["method"] not in _LIKED or _has_body(scope):
            return await self.django_app(scope, receive, send)
        started = time.perf_counter()
        request = ASGIRequest(scope, io.BytesIO())
        kind, object_id = match.group(1), int(match.group(2))
        try:
            user_id = await self._allowed_user(request)
            body, status = await self._like(kind, object_id, user_id=user_id, liked=_LIKED[scope["method"]])
        except _NotHere:
            return await self.django_app(scope, receive, send)
        content = orjson.dumps(body)
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(content))),
            ("Allow", self.allow[kind]),
            # As Django's session middleware says of an answer that read the session.
            ("Vary", "Cookie"),
            *self._middleware_headers(request),
            *record_request(
                request_id=request.headers.get("X-Request-ID") or uuid.uuid4().hex,
                method=scope["method"],
                route=self.routes[kind],
                path=request.path,
                status=status,
                started=started,
                user_id=user_id,
            ),
        ]
        if status == 503:
            headers.append(("Retry-After", RETRY_AFTER_SECONDS))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers],
            }
        )
        await send({"type": "http.response.body", "body": content})

    def _middleware_headers(self, request: HttpRequest) -> list[tuple[str, str]]:
        """What Django's header middleware adds to a like's answer.

        It depends only on the settings and on whether the request came over HTTPS, so it is
        learned once for each by passing an empty answer through the chain.
        """
        secure = request.is_secure()
        learned = self._learned_headers.get(secure)
        if learned is None:
            probe = HttpResponse(b"", content_type="application/json")
            own = {*probe.headers, "Content-Length"}
            request.answer = probe  # type: ignore[attr-defined]
            learned = [(name, value) for name, value in self.headers_chain(request).items() if name not in own]
            self._learned_headers[secure] = learned
        return learned

    async def _like(self, kind: str, object_id: int, *, user_id: int, liked: bool) -> tuple[dict[str, Any], int]:
        try:
            state = await services.like_on_loop(_TARGETS[kind], user_id=user_id, object_id=object_id, liked=liked)
        except services.NotFound:
            return {"detail": _REST_VIEWS[kind].not_found}, 404
        except psycopg.OperationalError as exc:  # the pool's timeout included
            logger.warning("database unavailable", extra={"error": repr(exc)})
            return {"detail": DATABASE_DOWN}, 503
        return {"liked": state.liked, "like_count": state.like_count, "version": state.version}, 200

    async def _allowed_user(self, request: HttpRequest) -> int:
        """The id of the session's user, CSRF checked and within the like throttle; else _NotHere.

        One Redis round trip for a session this worker has seen before (it remembers whose it
        is): the throttle's script reads the session and counts the like together. A session
        new to the worker is read once first.
        """
        store = self.sessions(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
        if store.session_key is None or (settings.SECURE_SSL_REDIRECT and not request.is_secure()):
            raise _NotHere  # no session; or plain HTTP, which Django redirects
        # CSRF first: a forged request must not spend the user's likes.
        try:
            SessionAuthentication().enforce_csrf(request)  # type: ignore[arg-type]
        except PermissionDenied:
            raise _NotHere from None
        session_key = self.cache.make_key(store.cache_key)
        client, log = self._redis_here()
        try:
            user_id = self._session_users.get(session_key)
            if user_id is None:
                user_id = _session_user(await client.get(session_key))
            verdict = await self._record_like(log, session_key=session_key, user_id=user_id)
        except (RedisError, OSError):
            raise _NotHere from None  # Django reads the session from the database
        if verdict.session_missing:
            self._session_users.pop(session_key, None)
            raise _NotHere  # Django reads it from the database and puts it back in the cache
        session = django_redis_cache.decode(verdict.session) if verdict.session is not None else {}
        if _session_user(verdict.session) != user_id:
            raise _NotHere
        if len(self._session_users) >= _MAX_REMEMBERED_SESSIONS:
            self._session_users.clear()
        self._session_users[session_key] = user_id
        try:
            user = CachedModelBackend.remembered(user_id) or await CachedModelBackend().aget_user(user_id)
        except psycopg.Error:
            raise _NotHere from None  # Django answers the outage
        # Django's check of the session against the password (a changed password ends it); a
        # hash made with an older secret key is for Django to rotate.
        session_hash = session.get(HASH_SESSION_KEY)
        if user is None or not session_hash or not constant_time_compare(session_hash, user.get_session_auth_hash()):
            raise _NotHere
        if not verdict.allowed:
            raise _NotHere  # Django answers the 429, with its Retry-After
        return user_id

    @staticmethod
    async def _record_like(log: throttle_redis.AsyncLog, *, session_key: str, user_id: int) -> throttle_redis.Verdict:
        """The `like` scope of core.throttling.ScopedRateThrottle, with the session read alongside."""
        throttle = ScopedRateThrottle()
        allowed, duration = throttle.parse_rate(throttle.THROTTLE_RATES.get(apis._LikeApi.throttle_scope))
        if allowed is None or duration is None:  # likes are not throttled: only the session to read
            allowed, duration = 1, 0
        key = throttle.cache.make_key(throttle.cache_format % {"scope": apis._LikeApi.throttle_scope, "ident": user_id})
        return await log.record(key, now=throttle.timer(), duration=duration, allowed=allowed, session_key=session_key)

    def _redis_here(self) -> tuple[Any, throttle_redis.AsyncLog]:
        loop = asyncio.get_running_loop()
        here = self._redis.get(loop)
        if here is None:
            servers = settings.REDIS_SERVERS
            assert servers is not None, "available() holds"
            client = servers.async_client()
            here = self._redis[loop] = (client, throttle_redis.AsyncLog(client))
        return here


def _session_user(raw: bytes | None) -> int:
    """The user id a cached session names, read as django.contrib.auth reads it; else _NotHere."""
    if raw is None:
        raise _NotHere  # Django reads it from the database and puts it back in the cache
    session = django_redis_cache.decode(raw)
    if session.get(BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS:
        raise _NotHere
    try:
        return int(User._meta.pk.to_python(session.get(SESSION_KEY)))
    except (ValidationError, TypeError):
        raise _NotHere from None


def _has_body(scope: dict[str, Any]) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"transfer-encoding" or (name == b"content-length" and value not in (b"", b"0")):
            return True
    return False


def with_async_likes(django_app: ASGIApp) -> ASGIApp:
    """The ASGI app to serve: `django_app` behind the like road on the loop, where it can run."""
    return AsyncLikes(django_app) if available() else django_app
