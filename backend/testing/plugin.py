"""Pytest fixtures for KarmaFeed, reusable by anyone testing the API or the websocket.

Enable with `pytest_plugins = ["testing.plugin"]` in a conftest.py (backend/conftest.py
does). Everything runs against the real PostgreSQL and Redis named by DATABASE_URL and
REDIS_URL (see config/settings_test.py).

- `make_user(username=None)`: a saved user (password "pw-" + username).
- `contract_client(user=None)`: a Django test client that enforces CSRF the way browsers
  meet it: it fetches /api/auth/csrf/ and sends X-CSRFToken on unsafe methods.
- `live_socket(user=None, origin=...)`: an open WebsocketCommunicator on the real ASGI
  application, already past `hello` and the first `leaderboard`, with helpers to wait for
  an event of a given type (batch frames are unpacked). It keeps the client's side of
  streams: `epoch`, and `positions` (the last seq seen per stream, from hello, the
  leaderboard frame, `subscribed` and every event), so `await s.resume()` asks for what
  it missed as a browser would, and `await s.wait_closed()` gives the close code. Use in async tests marked
  `@pytest.mark.django_db(transaction=True)`: the socket session reads the database from
  other threads, so the data must be committed.
- `serve_app(**options)`: the ASGI application on a real uvicorn, in the test's loop, on a
  free loopback port, with the options it is served with (config/serving.py) and yours on
  top; returns the `uvicorn.Server` (its port: `server.config.port`). `free_port()` gives
  a loopback port nothing listens on.
- `django_db_setup`: pytest-django's, with the connections that ended threads left open
  closed before the test database is dropped, so that it can be.
- `eventually(condition, what)` / `await eventually_async(condition, what)`: wait until a
  condition holds, with a deadline and a message naming what did not happen; never a fixed
  sleep.
"""

import asyncio
import gc
import inspect
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from importlib import import_module
from socket import socket as tcp_socket
from typing import Any, TypeVar

import orjson
import pytest
import uvicorn
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connections
from django.test import Client
from prometheus_client import REGISTRY

from accounts.models import User
from config.redis_servers import RedisServers
from realtime.runtime import stop_runtime

_names = itertools.count(1)
DEFAULT_ORIGIN = "http://127.0.0.1"
T = TypeVar("T")
POLL_INTERVAL = 0.02


class _Attempts:
    """The deadline of one wait and what the condition last gave, for the failure message."""

    def __init__(self, what: str, timeout: float) -> None:
        self.what = what
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.last: Any = None
        self.error: BaseException | None = None

    def give_up(self) -> AssertionError | None:
        if time.monotonic() < self.deadline:
            return None
        cause = f"; last error: {self.error!r}" if self.error is not None else f"; last value: {self.last!r}"
        return AssertionError(f"{self.what}: not so within {self.timeout}s{cause}")


def eventually(
    condition: Callable[[], T],
    what: str,
    *,
    timeout: float = 5.0,
    ignoring: tuple[type[BaseException], ...] = (),
) -> T:
    """Call `condition` until it returns something true, and return that.

    At the deadline the test fails naming `what` and the last value (or the last of the
    `ignoring` exceptions, which count as "not yet"); any other exception fails it at once.
    """
    attempts = _Attempts(what, timeout)
    while True:
        try:
            attempts.last = condition()
        except ignoring as exc:
            attempts.error = exc
        else:
            if attempts.last:
                return attempts.last
        failure = attempts.give_up()
        if failure is not None:
            raise failure
        time.sleep(POLL_INTERVAL)


async def eventually_async(
    condition: Callable[[], Any],
    what: str,
    *,
    timeout: float = 5.0,
    ignoring: tuple[type[BaseException], ...] = (),
) -> Any:
    """`eventually` for async tests: the loop keeps running while it waits; `condition` may be async."""
    attempts = _Attempts(what, timeout)
    while True:
        try:
            value = condition()
            attempts.last = await value if inspect.isawaitable(value) else value
        except ignoring as exc:
            attempts.error = exc
        else:
            if attempts.last:
                return attempts.last
        failure = attempts.give_up()
        if failure is not None:
            raise failure
        await asyncio.sleep(POLL_INTERVAL)


def resume_counters() -> tuple[float, float]:
    """(statements run inside resumes, resumes answered) in this process, from /metrics' registry."""
    queries = REGISTRY.get_sample_value("karmafeed_resume_queries_total") or 0.0
    resumes = REGISTRY.get_sample_value("karmafeed_resume_messages_total") or 0.0
    return queries, resumes


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None) -> Iterator[None]:
    """pytest-django's test database, with no connection left open when it is dropped.

    A thread that ends with its Django connection open (a test's worker thread) leaves it
    checked out of the pool, where closing the pool does not reach it; it closes only when
    the garbage collector frees it. Until then the database cannot be dropped ("being accessed
    by other users") and stays behind, with a warning. Collecting first closes them.
    """
    yield
    gc.collect()


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(username: str | None = None) -> User:
        name = username or f"user_{next(_names):04d}"
        return User.objects.create_user(username=name, password=f"pw-{name}")

    return make


class ContractClient:
    """A test client that meets CSRF the way the contract describes it."""

    def __init__(self, user: User | None = None) -> None:
        self.django = Client(enforce_csrf_checks=True)
        if user is not None:
            self.django.force_login(user)
        self.django.get("/api/auth/csrf/")

    @property
    def csrf_token(self) -> str:
        return self.django.cookies[settings.CSRF_COOKIE_NAME].value

    def get(self, path: str, **extra: Any) -> Any:
        return self.django.get(path, **extra)

    def _unsafe(self, method: str, path: str, body: Any = None, *, csrf: bool = True) -> Any:
        headers = {"HTTP_X_CSRFTOKEN": self.csrf_token} if csrf else {}
        data = orjson.dumps(body) if body is not None else b""
        return getattr(self.django, method)(path, data=data, content_type="application/json", **headers)

    def post(self, path: str, body: Any = None, *, csrf: bool = True) -> Any:
        return self._unsafe("post", path, body, csrf=csrf)

    def delete(self, path: str, *, csrf: bool = True) -> Any:
        return self._unsafe("delete", path, csrf=csrf)


@pytest.fixture
def contract_client(db: None) -> Callable[..., ContractClient]:
    return ContractClient


def wait_out_other_transactions() -> None:
    """Wait until no other session of the test database has been inside a transaction for
    twice the leaderboard's minimum interval.

    A stack that runs on between tests (tests/faults, tests/deploy) keeps refreshing the
    leaderboard; a refresh caught in the flush's TRUNCATE between two tests deadlocks it. After
    a storm, a worker's last refresh comes up to that interval after its last like (or after a
    refresh that failed), so one quiet instant is not enough: the quiet must last.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return  # the stacks run on PostgreSQL; SQLite has no other session to wait for
    quiet_for = 2 * settings.REALTIME["LEADERBOARD_MIN_INTERVAL"]
    busy_last = time.monotonic()

    def quiet_long_enough() -> bool:
        nonlocal busy_last
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state IS NOT NULL AND state <> 'idle'"
            )
            if cursor.fetchone()[0]:
                busy_last = time.monotonic()
        return time.monotonic() - busy_last >= quiet_for

    eventually(quiet_long_enough, "the stack's sessions out of their transactions", timeout=30)


def redis_servers() -> RedisServers:
    """The deployment's Redis servers (for tests that run only with Redis)."""
    servers = settings.REDIS_SERVERS
    assert servers is not None, "this test needs REDIS_URL or REDIS_SENTINELS"
    return servers


def session_cookie_for(user: User) -> str:
    """A real session for `user`, as the Cookie header value a browser would send."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


class LiveSocket:
    """A connected communicator plus the frames it has received, batches unpacked.

    Like a browser it remembers, per stream, the last seq it received (`positions`) and the
    `epoch` of its hello, so a test can drop events on the floor and `resume()`.
    """

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator
        self.events: list[dict[str, Any]] = []
        self.frames: list[str] = []
        self.epoch: str | None = None
        self.positions: dict[str, int] = {}
        self.close_code: int | None = None
        # The first two frames, as the server sent them on connect.
        self.hello: dict[str, Any] = {}
        self.leaderboard: dict[str, Any] = {}

    def _note_positions(self, event: dict[str, Any]) -> None:
        if event["type"] == "hello":
            self.epoch = event["epoch"]
            if event.get("feed_seq") is not None:
                self.positions["feed"] = event["feed_seq"]
        elif event["type"] == "subscribed":
            for post in event["posts"]:
                if post.get("seq") is not None:
                    self.positions[f"post.{post['id']}"] = max(self.positions.get(f"post.{post['id']}", 0), post["seq"])
        elif "stream" in event:
            self.positions[event["stream"]] = max(self.positions.get(event["stream"], 0), event["seq"])

    async def _read_frame(self, timeout: float) -> None:
        # Not communicator.receive_output(): on a timeout it cancels the application, and
        # waiting out a quiet moment is exactly what these tests do.
        try:
            message = await asyncio.wait_for(self.communicator.output_queue.get(), timeout)
        except TimeoutError:
            if self.communicator.future.done():
                self.communicator.future.result()  # re-raise what ended the application
            raise
        if message["type"] == "websocket.close":
            self.close_code = message.get("code")
            raise ConnectionError(f"socket closed by the server with code {self.close_code}")
        text = message["text"]
        self.frames.append(text)
        payload = orjson.loads(text)
        received = payload["events"] if payload["type"] == "batch" else [payload]
        for event in received:
            self._note_positions(event)
        self.events.extend(received)

    async def next_event(self, timeout: float = 3.0) -> dict[str, Any]:
        if not self.events:
            await self._read_frame(timeout)
        return self.events.pop(0)

    async def wait_for(self, event_type: str, timeout: float = 3.0, **fields: Any) -> dict[str, Any]:
        """The next event of `event_type` (with these field values), skipping others."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for index, event in enumerate(self.events):
                if event["type"] == event_type and all(event.get(k) == v for k, v in fields.items()):
                    del self.events[index]
                    return event
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no {event_type} {fields or ''} within {timeout}s; saw {self.events}")
            await self._read_frame(remaining)

    async def assert_silent(self, event_type: str, within: float = 0.6, **fields: Any) -> None:
        try:
            event = await self.wait_for(event_type, timeout=within, **fields)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected {event}")

    async def send(self, payload: Any) -> None:
        text = payload if isinstance(payload, str) else orjson.dumps(payload).decode()
        await self.communicator.send_to(text_data=text)

    async def request(self, payload: Any, reply_type: str, timeout: float = 3.0) -> dict[str, Any]:
        await self.send(payload)
        return await self.wait_for(reply_type, timeout=timeout)

    async def resume(
        self, positions: dict[str, int] | None = None, *, epoch: str | None = None, timeout: float = 3.0
    ) -> dict[str, Any]:
        """Send `resume` (by default for every stream this socket has a position in); the `resumed` answer.

        The replayed events that follow it land in `events` like any other.
        """
        message: dict[str, Any] = {"type": "resume", "epoch": self.epoch if epoch is None else epoch}
        message["positions"] = dict(self.positions if positions is None else positions)
        return await self.request(message, "resumed", timeout=timeout)

    async def wait_closed(self, timeout: float = 5.0) -> int | None:
        """Read until the server closes the socket; its close code."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.close_code is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"the socket was not closed within {timeout}s")
            try:
                await self._read_frame(remaining)
            except ConnectionError:
                break
        return self.close_code


@pytest.fixture
async def live_socket() -> AsyncIterator[Callable[..., Any]]:
    # Imported here, not at the top: building the ASGI app needs Django set up by pytest-django.
    from config.asgi import application

    opened: list[LiveSocket] = []

    async def connect(user: User | None = None, *, origin: str = DEFAULT_ORIGIN) -> LiveSocket:
        headers = [(b"origin", origin.encode()), (b"host", b"127.0.0.1")]
        if user is not None:
            cookie = await sync_to_async(session_cookie_for)(user)
            headers.append((b"cookie", cookie.encode()))
        communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        if not connected:
            raise ConnectionRefusedError("the server refused the websocket")
        socket = LiveSocket(communicator)
        opened.append(socket)
        socket.hello = await socket.next_event()
        assert socket.hello["type"] == "hello"
        socket.leaderboard = await socket.next_event()
        assert socket.leaderboard["type"] == "leaderboard"
        return socket

    yield connect
    for socket in opened:
        await socket.communicator.disconnect()
    await stop_runtime()
    # The socket session's queries ran on asgiref's executor thread; close its connection there so
    # the test database can be dropped.
    await sync_to_async(connections.close_all)()


def free_port() -> int:
    """A loopback port nothing listens on now (the system picks it)."""
    with tcp_socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def serve_app() -> AsyncIterator[Callable[..., Awaitable[uvicorn.Server]]]:
    """serve_app(**options): uvicorn serving the app as `make run` does, stopped after the test."""
    from config.asgi import application
    from config.serving import UVICORN_OPTIONS

    running: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def serve(**options: Any) -> uvicorn.Server:
        chosen = {**UVICORN_OPTIONS, "log_level": "warning", **options}
        server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=free_port(), **chosen))
        running.append((server, asyncio.create_task(server.serve())))
        await eventually_async(lambda: server.started, "uvicorn started", timeout=10)
        return server

    yield serve
    for server, task in running:
        server.should_exit = True
        await task
    # The app's queries ran on asgiref's executor thread; close its connection there.
    await sync_to_async(connections.close_all)()


@pytest.fixture
def capture_pushes() -> Iterator[list[Any]]:
    """Events handed to the channel layer by this process, in order (the real send still runs)."""
    from realtime import publish

    sent: list[Any] = []
    original, original_sync = publish.send_events, publish.send_events_sync

    async def recording_send(events: Any) -> bool:
        sent.extend(events)
        return await original(events)

    def recording_send_sync(events: Any) -> bool:
        sent.extend(events)
        return original_sync(events)

    # Both roads: the publisher on an event loop, and inline from a thread without one.
    publish.send_events, publish.send_events_sync = recording_send, recording_send_sync
    try:
        yield sent
    finally:
        publish.send_events, publish.send_events_sync = original, original_sync
