"""Request logging, request ids and latency metrics for every HTTP request; the worker id."""

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib.messages.middleware import MessageMiddleware
from django.http import HttpRequest, HttpResponse

from ops import metrics

logger = logging.getLogger("karmafeed.request")
WORKER_ID = os.environ.get("KARMAFEED_WORKER_ID") or f"pid-{os.getpid()}"


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # Only a user something already loaded: resolving it here would cost a query, and
        # fail when the database is what is down.
        user = getattr(request, "_cached_user", None)
        for name, value in record_request(
            request_id=request_id,
            method=request.method or "",
            route=match.route if match is not None else "unmatched",
            path=request.path,
            status=response.status_code,
            started=started,
            user_id=user.pk if user is not None and user.is_authenticated else None,
        ):
            response[name] = value
        return response


def record_request(
    *, request_id: str, method: str, route: str, path: str, status: int, started: float, user_id: Any
) -> tuple[tuple[str, str], ...]:
    """Log one answered request and count its latency; the headers that name it in the answer."""
    duration = time.perf_counter() - started
    metrics.REQUEST_LATENCY.labels(method, route, str(status)).observe(duration)
    logger.info(
        "request",
        extra={
            "request_id": request_id,
            "user_id": user_id,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(duration * 1000, 2),
        },
    )
    # Which worker answered: lets tests and operators see requests cross workers.
    return (("X-Request-ID", request_id), ("X-Served-By", WORKER_ID))


class SyncChainBoundary:
    """Innermost, and sync only: keeps every middleware of the chain in the request's thread.

    Under ASGI, Django runs each middleware that can do both (MiddlewareMixin) in the mode of
    the handler it wraps. With the async view handler innermost, sessions, CSRF, auth,
    messages and the rest each crossed to the event loop and back for their request and
    response halves: a dozen thread hops a request, each waiting behind the socket fan-out
    on a busy loop. With a sync handler innermost the chain is one run of plain calls, and
    only the view dispatch crosses once.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)


class HttpConcurrencyLimit:
    """ASGI middleware: at most `limit` HTTP requests inside Django at once per worker.

    Django runs every request in a thread of its own. Hundreds of them in flight take
    turns on the interpreter lock with the event loop, which then waits seconds to hand a
    committed event to Redis or to write to sockets. Requests beyond the limit wait here as
    cheap coroutines instead; past the database pool's size they could only have waited
    for a connection anyway.
    """

    def __init__(self, app: Any, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            # Created on first use so it binds to the serving loop.
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:
            await self.app(scope, receive, send)


class AdminMessageMiddleware(MessageMiddleware):
    """Django's messages for the admin only: the API and the app never show them.

    The stock middleware builds its cookie-and-session storage on every request; the admin
    (which requires this middleware or a subclass) is the one user of it.
    """

    def process_request(self, request: HttpRequest) -> None:
        if request.path.startswith("/admin/"):
            super().process_request(request)
