"""The websocket side's one ASGI middleware."""

from importlib import import_module
from typing import Any

from channels.auth import get_user
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.http import parse_cookie

from realtime.origin import origin_allowed


async def _session_user(scope: dict[str, Any]) -> AbstractBaseUser | AnonymousUser:
    """The user of the session cookie, as Channels' AuthMiddleware resolves it.

    Visitors without a session cookie are anonymous without asking the session store: load
    testers open thousands of such sockets, and each would otherwise wait for a thread.
    """
    for name, value in scope["headers"]:
        if name == b"cookie":
            session_key = parse_cookie(value.decode("latin1")).get(settings.SESSION_COOKIE_NAME)
            break
    else:
        session_key = None
    if session_key is None:
        return AnonymousUser()
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return await get_user({"session": session})


class WebsocketEntry:
    """Origin check and session auth for /ws/, in one layer in front of the router.

    An ASGI middleware awaits its inner app for the whole connection, so Channels' stack
    (origin validator, cookies, sessions, auth) kept a coroutine frame, a scope copy, a
    session store, lazy wrappers and a wrapped send per layer for as long as each socket was
    open. This layer does the same checks and leaves one scope copy holding the resolved
    user; the socket session gets the server's own send, which the hub's broadcasts use.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        user = await _session_user(scope)
        return await self.inner({**scope, "user": user}, receive, send)
