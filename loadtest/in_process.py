"""The in-process profilers' shared ground (loadtest.like_profile, loadtest.read_profile): a
fresh database the app runs on in this process, WSGI requests built and driven straight into
the application (or ASGI ones awaited on an event loop), CPU per request measured."""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from loadtest import stack

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


@contextmanager
def fresh_database(name: str, *, extra_env: dict[str, str] | None = None) -> Iterator[None]:
    """A new, migrated database `name`, this process set up to run the app on it (Django not
    yet set up); dropped at the end."""
    stack.require_tools()
    database = stack.Database(name)
    database.recreate()
    env = stack.server_env(database, redis_db=14, extra=extra_env)
    stack.manage(["migrate", "--noinput"], env, what="migrate")
    os.environ.update(env)
    sys.path.insert(0, str(stack.BACKEND_DIR))
    try:
        yield
    finally:
        from django.db import connections

        connections.close_all()
        _drop(database)


def _drop(database: stack.Database) -> None:
    import psycopg

    with psycopg.connect(database.admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')


def environ(method: str, path: str, cookies: dict[str, str], csrf: str | None) -> dict[str, Any]:
    """The WSGI environ of a request to the app, as a server on 127.0.0.1:8000 would make it."""
    built: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        "CONTENT_LENGTH": "0",
    }
    if cookies:
        built["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if csrf:
        built["HTTP_X_CSRFTOKEN"] = csrf
    return built


def drive(app: WSGIApp, requests: list[dict[str, Any]], *, expect: int = 200) -> float:
    """CPU ms per request over the list (after a warm-up of the first tenth)."""
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        statuses.append(status)

    warm = max(1, len(requests) // 10)
    for environ in requests[:warm]:
        body = app(dict(environ, **{"wsgi.input": io.BytesIO(b"")}), start_response)
        b"".join(body)
        getattr(body, "close", lambda: None)()
    statuses.clear()
    started = time.process_time()
    for environ in requests[warm:]:
        body = app(dict(environ, **{"wsgi.input": io.BytesIO(b"")}), start_response)
        b"".join(body)
        getattr(body, "close", lambda: None)()
    spent = time.process_time() - started
    wrong = [s for s in statuses if not s.startswith(str(expect))]
    if wrong:
        raise stack.BenchError(f"{len(wrong)} requests answered {wrong[0]}, expected {expect}")
    return spent * 1000 / (len(requests) - warm)


def scope(environ: dict[str, Any]) -> dict[str, Any]:
    """The ASGI scope of the same request."""
    headers = [(b"host", environ["HTTP_HOST"].encode())]
    if "HTTP_COOKIE" in environ:
        headers.append((b"cookie", environ["HTTP_COOKIE"].encode()))
    if "HTTP_X_CSRFTOKEN" in environ:
        headers.append((b"x-csrftoken", environ["HTTP_X_CSRFTOKEN"].encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": environ["REQUEST_METHOD"],
        "scheme": "http",
        "path": environ["PATH_INFO"],
        "raw_path": environ["PATH_INFO"].encode(),
        "root_path": "",
        "query_string": environ["QUERY_STRING"].encode(),
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


class LoopDriver:
    """Sends ASGI requests to an app, one after another, on an event loop of its own."""

    def __init__(self) -> None:
        import uvloop

        self.loop = uvloop.new_event_loop()

    def __call__(self, app: Any, requests: list[dict[str, Any]], *, expect: int = 200) -> float:
        return float(self.loop.run_until_complete(self._drive(app, [scope(e) for e in requests], expect)))

    @staticmethod
    async def _drive(app: Any, scopes: list[dict[str, Any]], expect: int) -> float:
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        warm = max(1, len(scopes) // 10)
        for scope in scopes[:warm]:
            await app(scope, receive, send)
        statuses.clear()
        started = time.process_time()
        for scope in scopes[warm:]:
            await app(scope, receive, send)
        spent = time.process_time() - started
        wrong = [s for s in statuses if s != expect]
        if wrong:
            raise stack.BenchError(f"{len(wrong)} requests answered {wrong[0]}, expected {expect}")
        return spent * 1000 / (len(scopes) - warm)

    def close(self) -> None:
        from core import async_database
        from realtime.runtime import stop_runtime

        self.loop.run_until_complete(stop_runtime())
        self.loop.run_until_complete(async_database.close_pool())
        self.loop.close()
