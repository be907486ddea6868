"""What every fault test does around its fault: a like storm through nginx, sockets that keep
counts the way the contract tells clients to, and the checks and figures after it.

- `Storm`: threads of logged-in users liking and unliking a few posts through nginx. Each
  (user, post) pair belongs to one thread, which remembers what the last 2xx answer said
  (liked or not). A write that fails (no answer, or not 2xx) is retried until it is answered,
  so at the end every pair has a known state, and a like is lost when the server said
  "liked" but no like row exists.
- `SocketFleet`: websockets through nginx that follow every post, apply `post.likes` by the
  contract's rule (keep the highest version), and reconnect and re-subscribe when their
  worker goes away, as the browser app does.
- `Figures`: what a test injected and measured, printed at the end of the run (conftest.py)
  and copied into docs/reliability.md.
"""

import asyncio
import contextlib
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import orjson
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db.models import Count
from websockets.asyncio.client import ClientConnection

from accounts.models import User
from feed.models import Post, PostLike
from feed.services import karma_window_check
from realtime.tasks import cancel_and_wait
from testing.plugin import eventually, session_cookie_for

REQUEST_TIMEOUT_SECONDS = 5.0
# A failed write is tried again after this pause, as a client would, until it is answered.
RETRY_PAUSE_SECONDS = 0.05
SETTLE_TIMEOUT_SECONDS = 30.0
STORM_THREADS = 6


@dataclass
class Answer:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


def http(method: str, url: str, *, headers: dict[str, str] | None = None, body: Any = None) -> Answer:
    data = orjson.dumps(body) if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310 - loopback
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:  # noqa: S310
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())


class Browser:
    """A logged-in user of the stack: session cookie and CSRF token, requests through nginx."""

    def __init__(self, base_url: str, user: User) -> None:
        self.base_url = base_url
        self.user = user
        self.cookie = session_cookie_for(user)
        answer = http("GET", base_url + "/api/auth/csrf/", headers={"Cookie": self.cookie})
        jar: SimpleCookie = SimpleCookie()
        for header in answer.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        self.csrf_token = jar["csrftoken"].value
        self.cookie += f"; csrftoken={self.csrf_token}"

    def send(self, method: str, path: str) -> Answer:
        return self.send_json(method, path, {})

    def send_json(self, method: str, path: str, body: Any) -> Answer:
        headers = {"Cookie": self.cookie, "X-CSRFToken": self.csrf_token}
        return http(method, self.base_url + path, headers=headers, body=body)


@dataclass
class Figures:
    """One fault's outcome, as docs/reliability.md reports it."""

    name: str
    injected: str
    command: str = ""
    writes: int = 0
    failed_writes: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    missing_retry_after: int = 0
    lost_likes: int = 0
    ghost_likes: int = 0
    events_flow_after: float | None = None
    converged_after: float | None = None
    healed_by: str = ""
    reconnects: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def internal_errors(self) -> int:
        return self.statuses.get("500", 0)

    def row(self) -> str:
        statuses = ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses.items())) or "-"
        flow = "-" if self.events_flow_after is None else f"{self.events_flow_after:.2f} s"
        converged = "never" if self.converged_after is None else f"{self.converged_after:.2f} s ({self.healed_by})"
        return (
            f"| {self.name} | {self.writes} | {self.failed_writes} | {statuses} | {self.internal_errors} "
            f"| {self.lost_likes} | {flow} | {converged} | {self.reconnects} |"
        )


class Storm:
    """Likes and unlikes by `browsers` on `post_ids` from `threads` threads, until stopped."""

    def __init__(
        self, browsers: list[Browser], post_ids: list[int], *, threads: int = STORM_THREADS, seed: int = 9
    ) -> None:
        self.browsers = browsers
        self.post_ids = post_ids
        self.threads = threads
        self.seed = seed
        # (browser index, post id) -> liked, as the last 2xx answer said; absent: never liked.
        self.liked: dict[tuple[int, int], bool] = {}
        self.statuses: Counter[str] = Counter()
        self.missing_retry_after = 0
        self.writes = 0
        self.failed = 0
        # post id -> the highest like-count version an answer carried, and when.
        self.answered_versions: dict[int, list[tuple[float, int]]] = {post_id: [] for post_id in post_ids}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        self._errors: list[BaseException] = []

    # -- running ---------------------------------------------------------------------------

    def start(self) -> None:
        for index in range(self.threads):
            owned = [i for i in range(len(self.browsers)) if i % self.threads == index]
            worker = threading.Thread(target=self._run, args=(owned, random.Random(self.seed + index)), daemon=True)
            worker.start()
            self._workers.append(worker)

    def stop(self) -> None:
        """Stop, then retry each pair whose last write was not answered until it is."""
        self._stop.set()
        for worker in self._workers:
            worker.join(SETTLE_TIMEOUT_SECONDS + 10)
        if self._errors:
            raise self._errors[0]

    def wait_for_writes(self, count: int, timeout: float = 60.0) -> None:
        """Until `count` more writes have been answered with 2xx."""
        with self._lock:
            target = self.writes - self.failed + count
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self.writes - self.failed >= target:
                    return
            if self._errors:
                raise self._errors[0]
            if time.monotonic() > deadline:
                raise TimeoutError(f"the storm did not reach {count} more answered writes in {timeout}s")
            time.sleep(0.02)

    def versions_answered_before(self, moment: float) -> dict[int, int]:
        with self._lock:
            return {
                post_id: max((v for at, v in answered if at <= moment), default=0)
                for post_id, answered in self.answered_versions.items()
            }

    def _run(self, owned: list[int], rng: random.Random) -> None:
        try:
            unanswered: dict[tuple[int, int], str] = {}
            while not self._stop.is_set():
                if unanswered:
                    pair, method = next(iter(unanswered.items()))
                else:
                    pair = (rng.choice(owned), rng.choice(self.post_ids))
                    method = "DELETE" if self.liked.get(pair) else "POST"
                if self._write(pair, method):
                    unanswered.pop(pair, None)
                else:
                    unanswered[pair] = method
                    self._stop.wait(RETRY_PAUSE_SECONDS)
            deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
            for pair, method in unanswered.items():
                while not self._write(pair, method):
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"a write of {pair} was never answered after the storm")
                    time.sleep(RETRY_PAUSE_SECONDS)
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            self._errors.append(error)

    def _write(self, pair: tuple[int, int], method: str) -> bool:
        browser_index, post_id = pair
        try:
            answer = self.browsers[browser_index].send(method, f"/api/posts/{post_id}/like/")
            status = str(answer.status)
        except OSError as error:
            answer, status = None, f"no answer ({type(error).__name__})"
        with self._lock:
            self.writes += 1
            self.statuses[status] += 1
            if answer is not None and answer.status == 503 and not answer.headers.get("Retry-After"):
                self.missing_retry_after += 1
            if answer is None or not 200 <= answer.status < 300:
                self.failed += 1
                return False
            body = answer.json()
            self.liked[pair] = body["liked"]
            self.answered_versions[post_id].append((time.monotonic(), body["version"]))
            return True

    def record(self, figures: Figures) -> None:
        figures.writes = self.writes
        figures.failed_writes = self.failed
        figures.statuses = Counter({s: n for s, n in self.statuses.items() if s != "200"})
        figures.missing_retry_after = self.missing_retry_after


class FleetSocket:
    """One browser tab's socket: the like counts it shows, by the contract's rules."""

    def __init__(self, base_url: str, post_ids: list[int]) -> None:
        self.base_url = base_url
        self.post_ids = post_ids
        self.counts: dict[int, tuple[int, int]] = {}  # post id -> (like_count, version)
        self.received: list[tuple[float, int, int]] = []  # (when, post id, version) of post.likes
        self.reconnects = 0
        self.served_by = ""
        self.client: ClientConnection | None = None
        self.subscribed = asyncio.Event()
        self.events: list[dict[str, Any]] = []  # every event, batches unpacked

    def apply(self, post_id: int, like_count: int, version: int) -> None:
        known = self.counts.get(post_id)
        if known is None or version > known[1]:
            self.counts[post_id] = (like_count, version)

    async def connect(self) -> None:
        url = self.base_url.replace("http", "ws", 1) + "/ws/"
        client = await websockets.connect(url, origin=websockets.Origin(self.base_url), open_timeout=5)
        assert client.response is not None
        self.served_by = client.response.headers.get("X-Served-By", "")
        self.client = client
        self.subscribed.clear()
        await client.send(orjson.dumps({"type": "subscribe", "post_ids": self.post_ids}).decode())

    async def resubscribe(self) -> None:
        assert self.client is not None
        self.subscribed.clear()
        await self.client.send(orjson.dumps({"type": "subscribe", "post_ids": self.post_ids}).decode())
        await asyncio.wait_for(self.subscribed.wait(), 5)

    async def run(self, reconnect_timeout: float = 30.0) -> None:
        """Read events forever; when the socket drops, reconnect through nginx and re-subscribe."""
        while True:
            assert self.client is not None
            try:
                async for frame in self.client:
                    message = orjson.loads(frame)
                    for event in message["events"] if message["type"] == "batch" else [message]:
                        self._on_event(event)
            except websockets.ConnectionClosed:
                pass
            deadline = asyncio.get_running_loop().time() + reconnect_timeout
            while True:
                try:
                    await self.connect()
                    self.reconnects += 1
                    break
                except (OSError, websockets.InvalidHandshake, TimeoutError):
                    if asyncio.get_running_loop().time() > deadline:
                        raise
                    await asyncio.sleep(0.1)  # a client's reconnect backoff, not a wait for a condition

    def _on_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        if event["type"] == "subscribed":
            for post in event["posts"]:
                self.apply(post["id"], post["like_count"], post["version"])
            self.subscribed.set()
        elif event["type"] == "post.likes":
            self.received.append((time.monotonic(), event["post_id"], event["version"]))
            self.apply(event["post_id"], event["like_count"], event["version"])

    def shows(self) -> dict[int, int]:
        return {post_id: count for post_id, (count, _) in self.counts.items()}


class SocketFleet:
    """`size` sockets through nginx, opened until every worker holds at least one."""

    def __init__(self, base_url: str, post_ids: list[int]) -> None:
        self.base_url = base_url
        self.post_ids = post_ids
        self.sockets: list[FleetSocket] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def open(self, size: int, workers: set[str] | None = None, attempts: int = 40) -> None:
        for _ in range(attempts):
            fleet_socket = FleetSocket(self.base_url, self.post_ids)
            await fleet_socket.connect()
            self.sockets.append(fleet_socket)
            self._tasks.append(asyncio.create_task(fleet_socket.run()))
            await asyncio.wait_for(fleet_socket.subscribed.wait(), 5)
            if len(self.sockets) >= size and (workers is None or workers <= self.workers()):
                return
        raise AssertionError(f"{attempts} sockets and nginx never picked every worker: {self.workers()}")

    def workers(self) -> set[str]:
        return {s.served_by for s in self.sockets}

    def check_running(self) -> None:
        for task in self._tasks:
            if task.done():
                task.result()  # a socket that gave up reconnecting fails the test here

    @property
    def reconnects(self) -> int:
        return sum(s.reconnects for s in self.sockets)

    def events_flow_after(self, fault_at: float, versions_before: dict[int, int]) -> float | None:
        """Seconds from `fault_at` until every socket had an event written after the fault."""
        latest = 0.0
        for fleet_socket in self.sockets:
            fresh = [
                at
                for at, post_id, version in fleet_socket.received
                if at >= fault_at and version > versions_before.get(post_id, 0)
            ]
            if not fresh:
                return None
            latest = max(latest, min(fresh) - fault_at)
        return latest

    async def wait_converged(self, truth: dict[int, int], timeout: float) -> bool:
        deadline = asyncio.get_running_loop().time() + timeout
        while any(s.shows() != truth for s in self.sockets):
            self.check_running()
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    def differences(self, truth: dict[int, int]) -> list[str]:
        return [f"{s.served_by}: shows {s.shows()}" for s in self.sockets if s.shows() != truth]

    async def close(self) -> None:
        await cancel_and_wait(self._tasks)
        for fleet_socket in self.sockets:
            if fleet_socket.client is not None:
                with contextlib.suppress(Exception):
                    await fleet_socket.client.close()


def read_after_fault(url: str) -> Answer:
    """A GET through nginx as a client makes it after a fault: a 503 is retried, as its
    Retry-After asks.

    A worker that served nothing while the database's connections were ended (the HTTP
    workers, when the storm's likes went to the like workers) still holds some of them in its
    pool; each costs one request a 503 before the pool replaces it.
    """

    def answered() -> Answer | None:
        answer = http("GET", url)
        if answer.status != 503:
            return answer
        assert "Retry-After" in answer.headers, "a 503 came without Retry-After"
        return None

    found = eventually(answered, f"GET {url} answered, not 503", timeout=10)
    assert found is not None
    return found


def rest_like_counts(base_url: str, post_ids: list[int]) -> dict[int, int]:
    """A fresh read of every post over REST, through nginx."""
    counts = {}
    for post_id in post_ids:
        answer = read_after_fault(f"{base_url}/api/posts/{post_id}/")
        assert answer.status == 200, answer.body
        counts[post_id] = answer.json()["like_count"]
    return counts


def check_database(storm: Storm, post_ids: list[int], figures: Figures) -> dict[int, int]:
    """Nothing half-written: counts equal rows, karma equals the likes, no like lost or added.

    Returns the like count of each post, as the database holds it.
    """
    rows = dict(PostLike.objects.filter(post_id__in=post_ids).values_list("post_id").annotate(n=Count("id")).order_by())
    counts = dict(Post.objects.filter(pk__in=post_ids).values_list("pk", "like_count"))
    assert counts == {post_id: rows.get(post_id, 0) for post_id in post_ids}, "like_count differs from the like rows"
    liked_rows = set(PostLike.objects.filter(post_id__in=post_ids).values_list("user_id", "post_id"))
    said_liked = {(storm.browsers[i].user.pk, post_id) for (i, post_id), liked in storm.liked.items() if liked}
    figures.lost_likes = len(said_liked - liked_rows)
    figures.ghost_likes = len(liked_rows - said_liked)
    check = karma_window_check()
    assert check.ok, f"karma window differs from the likes: {check.mismatches}"
    points = settings.KARMA["POST_LIKE_POINTS"]
    for author_id, username in Post.objects.filter(pk__in=post_ids).values_list("author_id", "author__username"):
        expected = points * PostLike.objects.filter(recipient_id=author_id).exclude(user_id=author_id).count()
        answer = read_after_fault(f"{storm.browsers[0].base_url}/api/users/{username}/")
        assert answer.status == 200 and answer.json()["karma_total"] == expected, answer.body
    return counts


async def storm_through_fault(
    base_url: str,
    browsers: list[Browser],
    post_ids: list[int],
    workers: set[str],
    inject: Callable[["Storm"], Awaitable[float | None]],
    figures: Figures,
    *,
    writes_before: int = 150,
    writes_after: int = 300,
    sockets: int = 6,
    events_timeout: float = 10.0,
) -> SocketFleet:
    """Sockets on every worker, a storm, the fault after `writes_before` answered writes, the
    storm on for `writes_after` more; then the database checks and the sockets' convergence.

    `inject` returns the moment events should flow again from (a failover's promotion, say),
    or None for the moment it was called.
    """
    fleet = SocketFleet(base_url, post_ids)
    await fleet.open(sockets, workers)
    storm = Storm(browsers, post_ids)
    storm.start()
    try:
        await asyncio.to_thread(storm.wait_for_writes, writes_before)
        fault_at = time.monotonic()
        flow_from = await inject(storm) or fault_at
        await asyncio.to_thread(storm.wait_for_writes, writes_after)
    finally:
        await asyncio.to_thread(storm.stop)
    storm_ended = time.monotonic()
    storm.record(figures)
    database = await sync_to_async(check_database)(storm, post_ids, figures)
    truth = await asyncio.to_thread(rest_like_counts, base_url, post_ids)
    assert truth == database, "a fresh REST read differs from the database"
    if await fleet.wait_converged(truth, events_timeout):
        figures.healed_by = "events"
    else:
        figures.notes.append(f"not equal by events alone after {events_timeout:.0f} s: {fleet.differences(truth)}")
        for fleet_socket in fleet.sockets:
            await fleet_socket.resubscribe()
        figures.healed_by = "re-subscribe"
        assert await fleet.wait_converged(truth, 5.0), fleet.differences(truth)
    figures.converged_after = time.monotonic() - storm_ended
    figures.events_flow_after = fleet.events_flow_after(flow_from, storm.versions_answered_before(flow_from))
    figures.reconnects = fleet.reconnects
    return fleet
