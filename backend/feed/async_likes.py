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
The session's user check, the headers and the log are the ones every road on the loop shares
(feed.async_front).
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
import weakref
from typing import Any

import orjson
import psycopg
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest
from django.urls import resolve
from redis.exceptions import RedisError
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied

from core import throttle_redis
from core.throttling import ScopedRateThrottle
from feed import apis, async_front, likes, services
from feed.async_front import ASGIApp, NotHere, Receive, Send
from ops.errors import DATABASE_DOWN, RETRY_AFTER_SECONDS

logger = logging.getLogger(__name__)

_LIKE_PATH = re.compile(r"/api/(posts|comments)/([0-9]{1,18})/like/")
_TARGETS = {"posts": likes.POST, "comments": likes.COMMENT}
_REST_VIEWS: dict[str, type[apis._LikeApi]] = {"posts": apis.PostLikeApi, "comments": apis.CommentLikeApi}
_LIKED = {"POST": True, "DELETE": False}
_MAX_REMEMBERED_SESSIONS = 100_000


def available() -> bool:
    """Whether this deployment can answer likes on the loop: PostgreSQL, sessions in Redis."""
    return settings.LIKE_ROAD == "lean" and async_front.available()


class AsyncLikes:
    """ASGI app: likes and unlikes answered on the loop, everything else by `django_app`."""

    def __init__(self, django_app: ASGIApp) -> None:
        self.django_app = django_app
        self.session_keys = async_front.SessionKeys()
        # A like needs no new CSRF cookie: one that Django would renew fails the check below.
        self.request_checks = async_front.RequestChecks(csrf_cookie=False)
        # Per event loop: the throttle's script is registered on that loop's client.
        self._logs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, throttle_redis.AsyncLog] = (
            weakref.WeakKeyDictionary()
        )
        # Whose each session seen is: a session key never changes hands (a login makes a new one).
        self._session_users: dict[str, int] = {}
        self.allow = {kind: ", ".join(view().allowed_methods) for kind, view in _REST_VIEWS.items()}
        self.routes = {kind: resolve(f"/api/{kind}/1/like/").route for kind in _REST_VIEWS}
        self.answer_headers = async_front.AnswerHeaders()

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        match = _LIKE_PATH.fullmatch(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or scope["method"] not in _LIKED or async_front.has_body(scope):
            return await self.django_app(scope, receive, send)
        started = time.perf_counter()
        request = ASGIRequest(scope, io.BytesIO())
        kind, object_id = match.group(1), int(match.group(2))
        try:
            user_id = await self._allowed_user(request)
            body, status = await self._like(kind, object_id, user_id=user_id, liked=_LIKED[scope["method"]])
        except NotHere:
            return await self.django_app(scope, receive, send)
        headers = [
            ("Allow", self.allow[kind]),
            # As Django's session middleware says of an answer that read the session.
            ("Vary", "Cookie"),
            *self.answer_headers(request),
        ]
        if status == 503:
            headers.append(("Retry-After", RETRY_AFTER_SECONDS))
        await async_front.send_json(
            send,
            request,
            orjson.dumps(body),
            status=status,
            headers=headers,
            route=self.routes[kind],
            started=started,
            user_id=user_id,
        )

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
        """The id of the session's user, CSRF checked and within the like throttle; else NotHere.

        One Redis round trip for a session this worker has seen before (it remembers whose it
        is): the throttle's script reads the session and counts the like together. A session
        new to the worker is read once first.
        """
        self.request_checks(request)
        session_key = self.session_keys(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
        if session_key is None:
            raise NotHere  # no session: Django refuses it
        # CSRF first: a forged request must not spend the user's likes.
        try:
            SessionAuthentication().enforce_csrf(request)  # type: ignore[arg-type]
        except PermissionDenied:
            raise NotHere from None
        client, log = self._redis_here()
        try:
            user_id = self._session_users.get(session_key)
            if user_id is None:
                user_id = async_front.session_user_id(async_front.cached_session(await client.get(session_key)))
            verdict = await self._record_like(log, session_key=session_key, user_id=user_id)
        except (RedisError, OSError):
            raise NotHere from None  # Django reads the session from the database
        if verdict.session_missing:
            self._session_users.pop(session_key, None)
            raise NotHere  # Django reads it from the database and puts it back in the cache
        session = async_front.cached_session(verdict.session)
        if async_front.session_user_id(session) != user_id:
            raise NotHere
        if len(self._session_users) >= _MAX_REMEMBERED_SESSIONS:
            self._session_users.clear()
        self._session_users[session_key] = user_id
        await async_front.verified_user(user_id, session)
        if not verdict.allowed:
            raise NotHere  # Django answers the 429, with its Retry-After
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
        client = async_front.redis_here()
        loop = asyncio.get_running_loop()
        log = self._logs.get(loop)
        if log is None:
            log = self._logs[loop] = throttle_redis.AsyncLog(client)
        return client, log


def with_async_likes(django_app: ASGIApp) -> ASGIApp:
    """The ASGI app to serve: `django_app` behind the like road on the loop, where it can run."""
    return AsyncLikes(django_app) if available() else django_app
