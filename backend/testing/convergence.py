"""A browser's side of a live feed, driven over the real REST API and a communicator socket.

`Follower` reads the feed, every thread and the leaderboard as a browser would, follows every
post, applies what its socket receives with the contract's client rules (testing.client_model),
resumes a stream with a hole and re-reads one named in `resync`, and can drop its socket and
come back with a resume. `fresh_view(...)` is what a fresh read gives; convergence is
`await follower.converge(fresh)`.
"""

import asyncio
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async

from testing.client_model import ClientModel, post_stream
from testing.plugin import ContractClient, LiveSocket

ALL_POSTS = "/api/posts/?page_size=100"


def _read(client: ContractClient, path: str) -> dict[str, Any]:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.content[:200])
    body: dict[str, Any] = response.json()
    return body


def read_model(client: ContractClient, post_ids: set[int]) -> ClientModel:
    """A model loaded from fresh reads only: the feed, these threads and the leaderboard."""
    model = ClientModel()
    feed = _read(client, ALL_POSTS)
    assert feed["next"] is None, "the convergence tests keep every post on one page"
    model.load_feed(feed)
    for post_id in sorted(post_ids | model.feed):
        model.load_thread(_read(client, f"/api/posts/{post_id}/"))
    model.load_leaderboard(_read(client, "/api/leaderboard/"))
    return model


async def fresh_view(client: ContractClient, post_ids: set[int]) -> dict[str, Any]:
    return (await sync_to_async(read_model)(client, post_ids)).view()


class Follower:
    """One browser tab: a socket, the model of what it shows, and an anonymous REST client."""

    def __init__(self, connect: Callable[..., Any], client: ContractClient) -> None:
        self.connect = connect
        self.client = client
        self.model = ClientModel()
        self.socket: LiveSocket | None = None
        self.followed: set[int] = set()
        self.received: list[dict[str, Any]] = []
        # A test's hook to lose events on the way in (the positive controls).
        self.drop: Callable[[dict[str, Any]], bool] = lambda event: False
        self.epoch = ""

    async def start(self) -> None:
        """Connect, then read the feed and every thread (their stream_seq) and follow every post."""
        await self._open()
        assert self.socket is not None
        self.model = await sync_to_async(read_model)(self.client, set())
        self.model.load_leaderboard(self.socket.leaderboard)
        await self._follow_new_posts()

    async def _open(self) -> None:
        self.socket = await self.connect()
        self.epoch = self.socket.hello["epoch"]
        self.followed = set()

    async def _follow_new_posts(self) -> None:
        assert self.socket is not None
        new = sorted(set(self.model.threads) - self.followed)
        if new:
            self.followed |= set(new)
            await self.socket.send({"type": "subscribe", "post_ids": new})

    async def disconnect(self) -> None:
        assert self.socket is not None
        await self.socket.communicator.disconnect()
        self.socket = None

    async def reconnect(self) -> None:
        """A new socket that resumes every stream this tab holds, as a browser back from sleep."""
        epoch = self.epoch
        await self._open()
        assert self.socket is not None
        if self.socket.hello["epoch"] != epoch:
            self.model = await sync_to_async(read_model)(self.client, set(self.model.threads))
        else:
            await self.socket.send({"type": "resume", "epoch": epoch, "positions": dict(self.model.positions)})
        self.model.load_leaderboard(self.socket.leaderboard)
        await self._follow_new_posts()

    async def pump(self, quiet: float = 0.05) -> None:
        """Apply every frame received until the socket is quiet for `quiet` seconds; heal gaps."""
        socket = self.socket
        assert socket is not None
        while True:
            try:
                event = await socket.next_event(timeout=quiet)
            except TimeoutError:
                break
            await self._handle(event)
        if self.model.gaps:
            gaps = {stream: self.model.positions[stream] for stream in sorted(self.model.gaps)}
            self.model.gaps.clear()
            await socket.send({"type": "resume", "epoch": self.epoch, "positions": gaps})
        await self._follow_new_posts()

    async def _handle(self, event: dict[str, Any]) -> None:
        if event["type"] == "error":
            raise AssertionError(f"the server refused a frame of the client: {event}")
        if self.drop(event):
            return
        self.received.append(event)
        if event["type"] == "resumed":
            for stream in event["resync"]:
                await self._reread(stream)
            return
        self.model.apply(event)

    async def _reread(self, stream: str) -> None:
        if stream == "feed":
            self.model.load_feed(await sync_to_async(_read)(self.client, ALL_POSTS))
        elif stream == "leaderboard":
            self.model.load_leaderboard(await sync_to_async(_read)(self.client, "/api/leaderboard/"))
        else:
            post_id = int(stream.removeprefix("post."))
            assert stream == post_stream(post_id)
            self.model.load_thread(await sync_to_async(_read)(self.client, f"/api/posts/{post_id}/"))

    async def wait_for_type(self, event_type: str, timeout: float = 5.0) -> None:
        """Pump until an event of this type was received (applied or dropped by the test's hook)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = len(self.received)
        dropped: list[dict[str, Any]] = []
        original = self.drop

        def watching(event: dict[str, Any]) -> bool:
            if original(event):
                dropped.append(event)
                return True
            return False

        self.drop = watching
        try:
            while not any(e["type"] == event_type for e in [*self.received[seen:], *dropped]):
                if loop.time() > deadline:
                    raise AssertionError(f"no {event_type} within {timeout}s; received {self.received[seen:]}")
                await self.pump()
        finally:
            self.drop = original

    async def converge(self, expected: dict[str, Any], timeout: float = 5.0) -> None:
        """Pump until the model's view equals `expected`; fail with both views when it never does."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self.pump()
            view = self.model.view()
            if view == expected:
                return
            if loop.time() > deadline:
                boards = [(e.get("seq"), e["entries"]) for e in self.received if e["type"] == "leaderboard"]
                raise AssertionError(
                    f"the client did not converge within {timeout}s:\n{_diff(view, expected)}\n"
                    f"positions {self.model.positions}; leaderboard events received {boards[-3:]}"
                )


def _diff(view: dict[str, Any], expected: dict[str, Any]) -> str:
    lines = []
    for key in expected:
        if view.get(key) != expected[key]:
            lines.append(f"{key}: client {view.get(key)!r}\n{' ' * len(key)}  fresh  {expected[key]!r}")
    return "\n".join(lines)
