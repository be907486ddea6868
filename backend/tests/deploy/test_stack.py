"""The production topology, running: nginx in front of two socket workers (uvicorn), two HTTP
workers (WSGI) and a like worker (uvicorn), each kind under its gunicorn master, on PostgreSQL
and Redis, as `make stack` starts it. Likes and feed pages go to the like worker and the rest of
the API to the HTTP workers; a write served by either reaches sockets held by the socket workers, a dead
worker is routed around and replaced, /metrics sums every worker, and every process logs JSON
lines.
"""

import asyncio
import os
import re
import signal
import uuid
from collections.abc import AsyncIterator, Callable
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets
from asgiref.sync import sync_to_async
from django.db import connections
from websockets.asyncio.client import ClientConnection

from accounts.models import User
from feed.models import Post
from testing.plugin import eventually_async, session_cookie_for
from tests.deploy.conftest import Stack, http, write_frontend_build
from tests.factories import make_post

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.needs_services,
    pytest.mark.usefixtures("stack_quiet_before_the_flush"),
]


@pytest.fixture(autouse=True)
async def close_thread_connections() -> AsyncIterator[None]:
    yield
    # The tests' queries ran on asgiref's thread; close its connection there so the test
    # database can be dropped at the end of the run.
    await sync_to_async(connections.close_all)()


class Browser:
    """A logged-in visitor of the stack: session cookie, CSRF token, requests through nginx."""

    def __init__(self, stack: Stack, user: User) -> None:
        self.stack = stack
        self.cookie = session_cookie_for(user)
        answer = http("GET", stack.url + "/api/auth/csrf/", headers={"Cookie": self.cookie})
        jar: SimpleCookie = SimpleCookie()
        for header in answer.headers.get_all("Set-Cookie"):
            jar.load(header)
        self.csrf_token = jar["csrftoken"].value
        self.cookie += f"; csrftoken={self.csrf_token}"

    def send(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Cookie": self.cookie, "X-CSRFToken": self.csrf_token}
        return http(method, self.stack.url + path, headers=headers, body=body or {})


async def open_socket(url: str) -> tuple[ClientConnection, str]:
    """A feed socket past hello and the first leaderboard, and the worker that holds it."""
    client = await websockets.connect(url.replace("http", "ws", 1) + "/ws/", origin=websockets.Origin(url))
    assert client.response is not None
    served_by = client.response.headers["X-Served-By"]
    assert orjson.loads(await client.recv())["type"] == "hello"
    assert orjson.loads(await client.recv())["type"] == "leaderboard"
    return client, served_by


async def next_event(client: ClientConnection, wanted: Callable[[dict[str, Any]], bool], timeout: float = 3.0) -> Any:
    """The first event (batches unpacked) that `wanted` accepts, skipping the others."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        frame = orjson.loads(await asyncio.wait_for(client.recv(), max(remaining, 0.001)))
        for event in frame["events"] if frame["type"] == "batch" else [frame]:
            if wanted(event):
                return event


async def subscribe(client: ClientConnection, post_id: int) -> None:
    await client.send(orjson.dumps({"type": "subscribe", "post_ids": [post_id]}).decode())
    await next_event(client, lambda event: event["type"] == "subscribed")


async def open_sockets_on_each_worker(stack: Stack) -> dict[str, ClientConnection]:
    """One socket through nginx on every worker.

    A master's workers share one listening socket and the kernel gives each connection to
    whichever worker accepts first, so one worker may win many times in a row: connections
    are opened in concurrent rounds, the extras closed, until every worker holds one.
    """
    held: dict[str, ClientConnection] = {}
    extras: list[ClientConnection] = []
    for _ in range(10):
        for client, served_by in await asyncio.gather(*(open_socket(stack.url) for _ in range(4 * stack.workers))):
            if served_by in held:
                extras.append(client)
            else:
                held[served_by] = client
        if len(held) == stack.workers:
            break
    for client in extras:
        await client.close()
    if len(held) != stack.workers:
        raise AssertionError(f"nginx never picked every worker: {sorted(held)}")
    return held


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if match and match.group(1) == name and dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or "")) == labels:
            return float(match.group(3))
    return 0.0


async def scrape(stack: Stack) -> str:
    return (await sync_to_async(http)("GET", stack.url + "/metrics")).body.decode()


async def open_sockets_are(stack: Stack, count: int) -> bool:
    return metric(await scrape(stack), "karmafeed_open_sockets") == count


def is_zombie(pid: int) -> bool:
    """Exited, waiting for its parent to collect it: nothing runs any more."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


async def test_a_like_through_nginx_is_served_by_a_like_worker_and_reaches_sockets_held_by_each_socket_worker(
    healthy_stack: Stack, make_user: Callable[..., User]
) -> None:
    author, liker = await sync_to_async(make_user)(), await sync_to_async(make_user)()
    post: Post = await sync_to_async(make_post)(author)
    browser = await sync_to_async(Browser)(healthy_stack, liker)
    sockets = await open_sockets_on_each_worker(healthy_stack)
    for client in sockets.values():
        await subscribe(client, post.pk)

    answer = await sync_to_async(browser.send)("POST", f"/api/posts/{post.pk}/like/")

    assert answer.status == 200, answer.body
    assert answer.served_by in healthy_stack.like_worker_names
    assert answer.served_by not in healthy_stack.http_worker_names and answer.served_by not in sockets
    for client in sockets.values():
        event = await next_event(client, lambda e: e["type"] == "post.likes" and e["post_id"] == post.pk)
        assert event["like_count"] == answer.json()["like_count"] == 1
        assert event["version"] == answer.json()["version"]

    # The rest of the API, writes included, stays with the HTTP workers: a comment on the post ...
    comment = await sync_to_async(browser.send)("POST", f"/api/posts/{post.pk}/comments/", {"content": "Agreed."})
    assert comment.status == 201, comment.body
    assert comment.served_by in healthy_stack.http_worker_names
    # ... and the post itself, on the path the like path extends.
    read = await sync_to_async(browser.send)("GET", f"/api/posts/{post.pk}/")
    assert read.status == 200 and read.served_by in healthy_stack.http_worker_names
    # A like of that comment and an unlike of the post are like paths too.
    comment_like = await sync_to_async(browser.send)("POST", f"/api/comments/{comment.json()['id']}/like/")
    assert comment_like.status == 200, comment_like.body
    assert comment_like.served_by in healthy_stack.like_worker_names
    unlike = await sync_to_async(browser.send)("DELETE", f"/api/posts/{post.pk}/like/")
    assert unlike.status == 200, unlike.body
    assert unlike.served_by in healthy_stack.like_worker_names
    for client in sockets.values():
        event = await next_event(
            client, lambda e: e["type"] == "post.likes" and e["post_id"] == post.pk and e["like_count"] == 0
        )
        assert event["version"] == unlike.json()["version"]
        await client.close()


async def test_a_feed_page_through_nginx_is_served_by_a_like_worker_and_a_post_create_by_an_http_worker(
    healthy_stack: Stack, make_user: Callable[..., User]
) -> None:
    browser = await sync_to_async(Browser)(healthy_stack, await sync_to_async(make_user)())
    created = await sync_to_async(browser.send)("POST", "/api/posts/", {"content": "Through nginx."})
    assert created.status == 201, created.body
    assert created.served_by in healthy_stack.http_worker_names
    # The feed page, the reader's and an anonymous one, on the same path: the like workers'.
    for cookie in (browser.cookie, ""):
        page = await sync_to_async(http)(
            "GET", healthy_stack.url + "/api/posts/?page_size=5", headers={"Cookie": cookie}
        )
        assert page.status == 200, page.body
        assert page.served_by in healthy_stack.like_worker_names
        assert page.json()["results"][0]["id"] == created.json()["id"]
    head = await sync_to_async(http)("HEAD", healthy_stack.url + "/api/posts/")
    assert head.status == 200 and head.served_by in healthy_stack.like_worker_names
    # Positive control: the rest of the API under /api/posts/ stays with the HTTP workers.
    thread = await sync_to_async(http)("GET", healthy_stack.url + f"/api/posts/{created.json()['id']}/")
    assert thread.status == 200 and thread.served_by in healthy_stack.http_worker_names


async def test_health_through_nginx_is_ready_from_every_worker(healthy_stack: Stack) -> None:
    served_by = set()
    for _ in range(6):
        answer = await sync_to_async(http)("GET", healthy_stack.url + "/api/health/")
        assert answer.status == 200
        body = answer.json()
        # Names and states only: which engines answered is the log's business, not the caller's.
        assert body == {"ok": True, "database": {"ok": True}, "channel_layer": {"ok": True}}
        served_by.add(answer.served_by)
    assert served_by <= set(healthy_stack.http_worker_names) and served_by


async def test_nginx_serves_the_built_app_and_leaves_the_rest_to_the_workers(healthy_stack: Stack) -> None:
    for page in ("/", "/posts/12", "/users/ada"):
        answer = await sync_to_async(http)("GET", healthy_stack.url + page)
        assert answer.status == 200, page
        assert b"KarmaFeed test build" in answer.body
        assert answer.headers["Cache-Control"] == "no-cache"
        assert "X-Served-By" not in answer.headers, "pages come from disk, not from a worker"
    asset = await sync_to_async(http)("GET", healthy_stack.url + "/assets/app-0123abcd.js")
    assert asset.status == 200
    assert "immutable" in asset.headers["Cache-Control"]
    missing = await sync_to_async(http)("GET", healthy_stack.url + "/no-such-page")
    assert missing.status == 404
    unknown_api = await sync_to_async(http)("GET", healthy_stack.url + "/api/no-such-endpoint/")
    assert unknown_api.status == 404
    assert unknown_api.json() == {"detail": "No such endpoint."}
    assert unknown_api.served_by in healthy_stack.http_worker_names


async def test_metrics_through_nginx_sum_every_worker(healthy_stack: Stack) -> None:
    count = "karmafeed_request_latency_seconds_count"
    labels = {"method": "GET", "route": "api/health/", "status": "200"}
    before = await scrape(healthy_stack)
    for _ in range(7):
        assert (await sync_to_async(http)("GET", healthy_stack.url + "/api/health/")).status == 200
    sockets = await open_sockets_on_each_worker(healthy_stack)
    after = await scrape(healthy_stack)
    # One HTTP worker answers the scrape, yet it counts what every worker of both masters did.
    assert metric(after, count, **labels) - metric(before, count, **labels) == 7
    assert metric(after, "karmafeed_open_sockets") == len(sockets)
    assert "# TYPE karmafeed_push_latency_seconds histogram" in after
    assert "# TYPE karmafeed_events_pushed_total counter" in after
    assert "# TYPE karmafeed_push_failures_total counter" in after
    for client in sockets.values():
        await client.close()


async def test_a_killed_worker_is_routed_around_its_sockets_reconnect_and_it_comes_back(
    healthy_stack: Stack, make_user: Callable[..., User]
) -> None:
    stack = healthy_stack
    post: Post = await sync_to_async(make_post)(await sync_to_async(make_user)())
    browser = await sync_to_async(Browser)(stack, await sync_to_async(make_user)())
    sockets = await open_sockets_on_each_worker(stack)
    victim, survivor = stack.worker_names
    for client in sockets.values():
        await subscribe(client, post.pk)
    killed_pid = stack.worker_pid(victim)

    os.kill(killed_pid, signal.SIGKILL)

    # The victim's socket is closed by nginx; the survivor's stays open.
    with pytest.raises(websockets.ConnectionClosed):
        await next_event(sockets[victim], lambda e: False, timeout=5)
    # The client reconnects through nginx to a live socket worker (the survivor, or the
    # victim's replacement if the master already started it).
    reconnected, served_by = await open_socket(stack.url)
    assert served_by != victim
    await subscribe(reconnected, post.pk)
    like = await sync_to_async(browser.send)("POST", f"/api/posts/{post.pk}/like/")
    assert like.status == 200
    for client in (reconnected, sockets[survivor]):
        event = await next_event(client, lambda e: e["type"] == "post.likes" and e["post_id"] == post.pk)
        assert event["like_count"] == 1
    # The dead worker's open sockets left the gauge with it: only the two live ones count.
    await eventually_async(
        lambda: open_sockets_are(stack, 2), "only the two live sockets counted (the killed worker's left)", timeout=3
    )
    # Its master starts a new worker in its place, under the next number.
    await sync_to_async(stack.wait_ready)(timeout=15)
    assert victim not in stack.worker_names and len(stack.worker_names) == 2
    assert not Path(f"/proc/{killed_pid}").exists() or is_zombie(killed_pid)
    for client in (reconnected, sockets[survivor]):
        await client.close()


async def test_every_process_logs_json_lines_a_request_keeps_its_id_across_nginx_and_the_worker(
    healthy_stack: Stack,
) -> None:
    request_id = f"deploy-{uuid.uuid4().hex}"
    answer = await sync_to_async(http)(
        "GET", healthy_stack.url + "/api/leaderboard/", headers={"X-Request-ID": request_id}
    )
    assert answer.status == 200
    assert answer.headers["X-Request-ID"] == request_id
    client, socket_worker = await open_socket(healthy_stack.url)
    await client.close()

    def logged() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
        worker = healthy_stack.json_lines(answer.served_by)
        access = [e for e in healthy_stack.json_lines("nginx.1") if e.get("request_id") == request_id]
        sockets = [e["message"] for e in healthy_stack.json_lines(socket_worker) if e["logger"] == "realtime.consumers"]
        return [e for e in worker if e.get("request_id") == request_id], access, sockets

    await eventually_async(
        lambda: all(logged()) and "socket disconnected" in logged()[2],
        "the request, access and socket log lines, disconnect included",
        timeout=3,
    )
    (request_line,), (access_line,), socket_messages = logged()
    assert request_line["path"] == "/api/leaderboard/"
    assert request_line["status"] == 200
    assert request_line["duration_ms"] >= 0
    assert "user_id" in request_line
    assert access_line["status"] == 200
    assert access_line["upstream"].startswith("127.0.0.1:")
    assert "socket connected" in socket_messages
    # A worker line that is not JSON (a traceback printed raw, say) would break log shipping.
    for line in healthy_stack.output().splitlines():
        prefix, separator, text = line.partition(" | ")
        if separator and prefix.split()[-1] in ("sockets.1", "http.1", "likes.1"):
            assert text.startswith("{"), line


def test_stack_stop_ends_every_process_it_started_and_only_those(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "state", workers=1, frontend_root=write_frontend_build(tmp_path / "dist"))
    stack.start()
    pid_files = sorted((tmp_path / "state" / "pids").glob("**/*.pid"))
    pids = [int(path.read_text()) for path in pid_files]
    assert sorted(path.name for path in pid_files) == [
        "http.1.pid",  # the HTTP master (honcho's process http.1) ...
        "http.1.pid",  # ... and its first worker
        "http.2.pid",
        "likes.1.pid",  # the like master (honcho's process likes.1) ...
        "likes.1.pid",  # ... and its first worker
        "nginx.1.pid",
        "sockets.1.pid",
        "web.1.pid",
    ]
    manager = int((tmp_path / "state" / "stack.pid").read_text())
    assert stack.process is not None and manager == stack.process.pid

    stopped = stack.stop()

    assert stopped.returncode == 0, stopped.stderr
    assert stack.process.returncode == 143, "honcho ends on SIGTERM with 143"
    for pid in [manager, *pids]:
        assert not Path(f"/proc/{pid}").exists() or is_zombie(pid), f"pid {pid} outlived the stack"
    assert not list((tmp_path / "state" / "pids").glob("**/*.pid"))
