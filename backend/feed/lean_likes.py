"""The like endpoints on a short road: the same answers as the REST views, for a fraction of the CPU.

A like is the request users send most, and on the full road Django resolves the URL, runs
DRF's request wrapping, content negotiation, authentication, permission and throttle
classes and its response finalisation: more CPU than the like statement and its push
together. This WSGI app answers `POST`/`DELETE /api/posts/{id}/like/` and
`/api/comments/{id}/like/` itself and hands every other request to Django untouched.

What stays the same, by reuse rather than by copy:
- the middleware (request log and metrics, security headers, framing, sessions, CSRF cookie,
  authentication) is Django's own classes from MIDDLEWARE, in their order; left out are the
  ones that never act on these paths (static files, admin messages, the ASGI boundary, and
  the 503 translation that this view does itself);
- the like itself is `feed.services` (one like algorithm, its pushes after commit);
- CSRF is DRF's SessionAuthentication.enforce_csrf, the throttle is the `like` scope of the
  same throttle class;
- whenever the answer is not a like's own (no user, a CSRF refusal, throttled), the request
  goes on to the REST view itself, which answers exactly as it always does.
Requests with a body go to Django whole (a like has none). tests/feed/test_like_roads.py runs
one set of cases against both roads.
"""

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from django.conf import settings
from django.core import signals
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import resolve
from django.utils.module_loading import import_string
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied

from core.throttling import ScopedRateThrottle
from feed import apis, services
from ops.errors import DATABASE_DOWN, RETRY_AFTER_SECONDS

logger = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_LIKE_PATH = re.compile(r"/api/(posts|comments)/([0-9]{1,18})/like/")

# MIDDLEWARE entries that never act on a like: static files, the admin's messages, the
# boundary that keeps the chain sync under ASGI, and the 503 for views outside DRF (this
# view answers a database outage itself, as the REST view's exception handler does).
_NOT_ON_THE_LIKE_ROAD = frozenset(
    {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "ops.middleware.AdminMessageMiddleware",
        "ops.middleware.SyncChainBoundary",
        "ops.errors.DatabaseUnavailableMiddleware",
    }
)

_ACTIONS: dict[tuple[str, str], Callable[..., services.LikeState]] = {
    ("posts", "POST"): lambda user, object_id: services.post_like_set(user=user, post_id=object_id),
    ("posts", "DELETE"): lambda user, object_id: services.post_like_clear(user=user, post_id=object_id),
    ("comments", "POST"): lambda user, object_id: services.comment_like_set(user=user, comment_id=object_id),
    ("comments", "DELETE"): lambda user, object_id: services.comment_like_clear(user=user, comment_id=object_id),
}
_REST_VIEWS: dict[str, type[apis._LikeApi]] = {"posts": apis.PostLikeApi, "comments": apis.CommentLikeApi}
_KWARG = {"posts": "post_id", "comments": "comment_id"}


class _LikeScope:
    """What the throttle reads from a view: the REST views' scope."""

    throttle_scope = apis._LikeApi.throttle_scope


class LeanLikes:
    """WSGI app: likes and unlikes answered here, everything else by `django_app`."""

    def __init__(self, django_app: WSGIApp) -> None:
        self.django_app = django_app
        self.rest_views = {kind: view.as_view() for kind, view in _REST_VIEWS.items()}
        # The REST views' Allow header, which DRF adds to each of their answers.
        self.allow = {kind: ", ".join(view().allowed_methods) for kind, view in _REST_VIEWS.items()}
        # The route the request log and latency metrics name, as for the REST views.
        self.routes = {kind: resolve(f"/api/{kind}/1/like/") for kind in _REST_VIEWS}
        self.chain = self._middleware_chain(convert_exception_to_response(self._like))

    @staticmethod
    def _middleware_chain(view: Callable[[HttpRequest], Any]) -> Callable[[HttpRequest], Any]:
        handler: Callable[[HttpRequest], Any] = view
        for path in reversed(settings.MIDDLEWARE):
            if path not in _NOT_ON_THE_LIKE_ROAD:
                handler = convert_exception_to_response(import_string(path)(handler))
        return handler

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        match = _LIKE_PATH.fullmatch(environ.get("PATH_INFO", ""))
        has_body = environ.get("CONTENT_LENGTH", "") not in ("", "0") or "HTTP_TRANSFER_ENCODING" in environ
        if match is None or method not in ("POST", "DELETE") or has_body:
            return self.django_app(environ, start_response)
        signals.request_started.send(sender=WSGIHandler, environ=environ)
        request = WSGIRequest(environ)
        kind, object_id = match.group(1), int(match.group(2))
        request.resolver_match = self.routes[kind]
        request.like = (kind, object_id)  # type: ignore[attr-defined]
        response = self.chain(request)
        # Closing the response sends request_finished (the database connection goes back).
        response._handler_class = WSGIHandler
        start_response(
            f"{response.status_code} {response.reason_phrase}",
            [*response.items(), *(("Set-Cookie", c.output(header="")) for c in response.cookies.values())],
        )
        return response

    def _like(self, request: HttpRequest) -> HttpResponse:
        kind, object_id = request.like  # type: ignore[attr-defined]
        user = request.user
        if not user.is_authenticated or not self._csrf_passes(request) or not self._throttle_allows(request):
            # The REST view answers the refusal, exactly as it does on its own road.
            refusal = self.rest_views[kind](request, **{_KWARG[kind]: object_id})
            return refusal.render()  # as Django's handler does
        try:
            state = _ACTIONS[kind, request.method or ""](user, object_id)
        except services.NotFound:
            return self._answer(kind, {"detail": _REST_VIEWS[kind].not_found}, 404)
        except (OperationalError, InterfaceError) as exc:
            logger.warning("database unavailable", extra={"error": repr(exc)})
            response = self._answer(kind, {"detail": DATABASE_DOWN}, 503)
            response["Retry-After"] = RETRY_AFTER_SECONDS
            return response
        return self._answer(kind, {"liked": state.liked, "like_count": state.like_count, "version": state.version})

    def _answer(self, kind: str, body: dict[str, Any], status: int = 200) -> HttpResponse:
        response = HttpResponse(orjson.dumps(body), status=status, content_type="application/json")
        response["Allow"] = self.allow[kind]
        return response

    @staticmethod
    def _csrf_passes(request: HttpRequest) -> bool:
        try:
            SessionAuthentication().enforce_csrf(request)  # type: ignore[arg-type]
        except PermissionDenied:
            return False
        return True

    @staticmethod
    def _throttle_allows(request: HttpRequest) -> bool:
        return ScopedRateThrottle().allow_request(request, _LikeScope())


def with_lean_likes(django_app: WSGIApp) -> WSGIApp:
    """The WSGI app to serve: `django_app` behind the lean like road, unless settings turn it off."""
    if settings.LIKE_ROAD == "django":
        return django_app
    return LeanLikes(django_app)
