"""Browsers for the tests that run one set of cases against every road a request can take
(test_like_roads, test_feed_page_roads): WSGI to an app, or ASGI to an app on an event loop of
its own, as an ASGI worker's; and the answers they compare."""

import asyncio
import io
import sys
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import orjson
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.middleware.csrf import _get_new_csrf_string

from accounts.backends import CachedModelBackend
from accounts.models import User
from core import async_database
from realtime.runtime import stop_runtime
from testing.plugin import session_cookie_for


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def comparable_headers(self) -> dict[str, str]:
        # Whitespace around a value is not part of it (RFC 9110, 5.5): Django's WSGI handler
        # writes a cookie with a space before it, its ASGI handler without.
        return {name: value.strip() for name, value in self.headers.items() if name != "X-Request-ID"}


class Browser:
    """A logged-in browser (or an anonymous one) speaking WSGI to one road."""

    def __init__(self, app: Callable[..., Any], user: User | None) -> None:
        self.app = app
        self.csrf = _get_new_csrf_string()
        self.cookies = f"{settings.CSRF_COOKIE_NAME}={self.csrf}"
        if user is not None:
            self.cookies += f"; {session_cookie_for(user)}"

    def send(self, method: str, path: str, *, csrf: bool = True, body: bytes = b"") -> Answer:
        path, _, query = path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": query,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "testserver",
            "HTTP_COOKIE": self.cookies,
            "CONTENT_LENGTH": str(len(body)) if body else "",
            "CONTENT_TYPE": "application/json" if body else "",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        if csrf:
            environ["HTTP_X_CSRFTOKEN"] = self.csrf
        started: list[Any] = []
        result = self.app(environ, lambda status, headers, exc_info=None: started.append((status, headers)))
        try:
            content = b"".join(result)
        finally:
            result.close()
        status, headers = started[0]
        return Answer(int(status.split()[0]), dict(headers), _body(dict(headers), content))


class LoopThread:
    """An event loop in a thread of its own, as an ASGI worker's: coroutines run there, one at a time."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def stop(self) -> None:
        # As the server's shutdown does; then the connection of Django's thread for sync views.
        self.run(stop_runtime())
        self.run(async_database.close_pool())
        self.run(sync_to_async(connections.close_all)())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


class AsgiBrowser(Browser):
    """A browser speaking HTTP to an ASGI app served on `loop`."""

    def __init__(
        self, app: Callable[..., Any], user: User | None, loop: LoopThread, *, remembered: bool = True
    ) -> None:
        super().__init__(app, user)
        self.loop = loop
        if user is not None and remembered:
            # The worker has loaded this user lately, as after the user's first request.
            CachedModelBackend().get_user(user.pk)

    def send(self, method: str, path: str, *, csrf: bool = True, body: bytes = b"") -> Answer:
        headers = [(b"host", b"testserver"), (b"cookie", self.cookies.encode())]
        if csrf:
            headers.append((b"x-csrftoken", self.csrf.encode()))
        if body:
            headers += [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
        path, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": headers,
            "client": ("127.0.0.1", 40000),
            "server": ("testserver", 80),
        }
        return self.loop.run(self._exchange(scope, body))

    async def _exchange(self, scope: dict[str, Any], body: bytes) -> Answer:
        sent: list[dict[str, Any]] = []
        requests = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            if requests:
                return requests.pop()
            await asyncio.Event().wait()  # the client stays connected
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in start["headers"]}
        return Answer(start["status"], headers, _body(headers, content))


def _body(headers: dict[str, str], content: bytes) -> Any:
    """JSON decoded; anything else (Django's own error pages) as it came."""
    if headers.get("Content-Type") == "application/json":
        return orjson.loads(content)
    return content or None


def spy_on_django(loop_road: Any) -> list[str]:
    """Pass a loop road's hand-overs through a spy; the list fills with "METHOD /path?query" of
    each request the road gave to Django instead of answering it."""
    handed_to_django: list[str] = []
    to_django = loop_road.django_app

    async def spy(scope: dict[str, Any], receive: Any, send: Any) -> None:
        handed_to_django.append(f"{scope['method']} {scope['path']}?{scope.get('query_string', b'').decode()}")
        await to_django(scope, receive, send)

    loop_road.django_app = spy
    return handed_to_django


def wsgi_browser(app: Callable[..., Any]) -> Callable[[User | None], Browser]:
    return lambda user: Browser(app, user)
