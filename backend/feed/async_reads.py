"""The feed page answered on the event loop: the ASGI counterpart of PostListApi.get.

Under ASGI a Django view runs in a worker thread, and a feed page paid the hop there and back,
the whole middleware chain and DRF around one SQL statement and one Redis read. This ASGI app
answers `GET /api/posts/` on the loop itself, for an anonymous reader and for a logged-in one:
the session comes from Redis on an asyncio client, the page's rows from the selector's own
query on an asyncio PostgreSQL connection (selectors.afeed_page, core.async_database), the
stream position from this loop's stream log. Everything else, and every feed page it does not
answer itself, goes to `django_app`.

What stays the same, by reuse rather than by copy:
- the page asked for, its body and its `next` link are feed.apis's (feed_page_query,
  feed_page_json), the rows selectors.feed_page's SQL, read after the stream position;
- the session's user, the answer's headers, the request log and metric are those every road
  on the loop shares (feed.async_front);
- what Django's middleware decides from the request before the view (the host allowed,
  the user agent, the CSRF cookie to renew) is decided by the same middleware's methods.
Whenever the answer is not one this road can give exactly as Django does (a page_size, cursor
or query string Django refuses, a session cookie whose session is not in the cache or names no active
user, a host Django refuses, a CSRF cookie Django would replace, the database failing), the
request goes to Django whole. Only PostgreSQL with the Redis sessions cache has this road
(`available`); tests/feed/test_feed_page_roads.py runs one set of cases against both roads.
"""

import io
import time
from typing import Any

import psycopg
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest
from django.urls import resolve
from redis.exceptions import RedisError
from rest_framework.exceptions import ValidationError

from accounts.models import User
from feed import apis, async_front, selectors
from feed.async_front import ASGIApp, NotHere, Receive, Send
from realtime import streams
from realtime.events import FEED_GROUP

FEED_PATH = "/api/posts/"


def available() -> bool:
    """Whether this deployment answers feed pages on the loop: asked to, PostgreSQL, sessions in Redis."""
    return settings.FEED_ROAD == "loop" and async_front.available()


class AsyncReads:
    """ASGI app: the feed page answered on the loop, everything else by `django_app`."""

    def __init__(self, django_app: ASGIApp) -> None:
        self.django_app = django_app
        self.session_keys = async_front.SessionKeys()
        view = apis.PostListApi()
        view.setup(HttpRequest())  # as Django's as_view does: it answers HEAD as GET
        self.allow = ", ".join(view.allowed_methods)
        self.route = resolve(FEED_PATH).route
        self.answer_headers = async_front.AnswerHeaders()
        self.request_checks = async_front.RequestChecks(csrf_cookie=True)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope.get("path") != FEED_PATH
            or async_front.has_body(scope)
        ):
            return await self.django_app(scope, receive, send)
        started = time.perf_counter()
        request = ASGIRequest(scope, io.BytesIO())
        try:
            self.request_checks(request)
            viewer = await self._viewer(request)
            content = await self._page(request, viewer)
        except NotHere:
            return await self.django_app(scope, receive, send)
        await async_front.send_json(
            send,
            request,
            content,
            status=200,
            headers=[
                ("Allow", self.allow),
                # As Django's session middleware says of an answer that read the session.
                ("Vary", "Cookie"),
                *self.answer_headers(request),
            ],
            route=self.route,
            started=started,
            user_id=viewer.pk if viewer is not None else None,
        )

    async def _viewer(self, request: HttpRequest) -> User | None:
        """The session's user; None without a session cookie; NotHere for any session Django
        would not accept as it stands (it would end or rewrite it, or read it from the database)."""
        cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if cookie is None:
            return None
        session_key = self.session_keys(cookie)
        if session_key is None:
            raise NotHere  # a malformed cookie, which Django deletes
        try:
            raw = await async_front.redis_here().get(session_key)
        except (RedisError, OSError):
            raise NotHere from None  # Django reads the session from the database
        session = async_front.cached_session(raw)
        return await async_front.verified_user(async_front.session_user_id(session), session)

    @staticmethod
    async def _page(request: HttpRequest, viewer: User | None) -> bytes:
        try:
            size, before = apis.feed_page_query(request.GET)
        except (ValidationError, SuspiciousOperation):
            raise NotHere from None  # Django answers the 400 (a page or cursor refused, too many fields)
        stream_seq = await streams.aposition(FEED_GROUP)  # before the rows: a resume may repeat, never skip
        try:
            posts = await selectors.afeed_page(viewer=viewer, before=before, size=size)
        except psycopg.Error:
            raise NotHere from None  # Django answers the outage
        return apis.feed_page_json(request, posts, size=size, stream_seq=stream_seq)


def with_async_reads(django_app: ASGIApp) -> ASGIApp:
    """The ASGI app to serve: `django_app` behind the feed page road on the loop, where it can run."""
    return AsyncReads(django_app) if available() else django_app
