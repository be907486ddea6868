"""ASGI middleware for the websocket side."""

from typing import Any

from channels.auth import AuthMiddleware, get_user
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

RAW_SEND_KEY = "karmafeed.raw_send"


class RawSendMiddleware:
    """Outermost: keeps the server's own `send` in the scope.

    Broadcast frames go straight to it; the wrappers that Channels' session middleware puts
    around `send` cost several microseconds a frame and do nothing for websocket frames.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket":
            scope = {**scope, RAW_SEND_KEY: send}
        return await self.app(scope, receive, send)


class LazySessionAuthMiddleware(AuthMiddleware):
    """Channels' AuthMiddleware, minus the database hop for visitors without a session.

    Load testers open thousands of anonymous sockets; each would otherwise wait for a
    thread only to learn that there is no session cookie.
    """

    async def resolve_scope(self, scope: dict[str, Any]) -> None:
        if settings.SESSION_COOKIE_NAME not in scope.get("cookies", {}):
            scope["user"]._wrapped = AnonymousUser()
            return
        scope["user"]._wrapped = await get_user(scope)


def SessionAuthMiddlewareStack(inner: Any) -> Any:  # noqa: N802 - named like Channels' AuthMiddlewareStack
    return CookieMiddleware(SessionMiddleware(LazySessionAuthMiddleware(inner)))
