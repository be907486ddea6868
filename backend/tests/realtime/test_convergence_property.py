"""Random actions by a few users, two publishers racing, sockets dropped and resumed: all converge.

Each example is a program: posts, comments, replies, likes, unlikes and deletes, each by one of
two lanes that stand for two workers. Lane A's writes reach the streams through this process's
serving publisher (the async road of a socket worker); lane B's through a second stream log
of their own on the synchronous road (a WSGI worker with its own Redis connection; in the
embedded mode the process's one log). A round runs one write of each lane at the same time.
Between rounds a tab may lose its socket and later come back with a resume. At the end every
tab must equal a fresh read.
"""

import asyncio
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import User
from feed import services
from realtime import channels_redis_wire, publish, streams
from realtime.events import Event
from testing.convergence import Follower, fresh_view
from testing.plugin import ContractClient

# Two lanes write at once from two threads. The embedded suite's test database is SQLite in
# memory with a shared cache, whose table locks refuse a second writer at once instead of
# waiting (the served embedded mode is a file with WAL and a busy timeout): this test runs on
# PostgreSQL and Redis, where the lanes are two publishers racing through the real log.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_services]

USERS = 3
TABS = 2

user_index = st.integers(0, USERS - 1)
ref = st.integers(0, 50)
write = st.one_of(
    st.tuples(st.just("post"), user_index),
    st.tuples(st.just("comment"), user_index, ref, st.one_of(st.none(), ref)),
    st.tuples(st.sampled_from(["like", "unlike"]), user_index, st.sampled_from(["post", "comment"]), ref),
    st.tuples(st.just("delete"), st.sampled_from(["post", "comment"]), ref),
)
step = st.one_of(
    st.tuples(st.sampled_from(["A", "B"]), write),
    st.tuples(st.sampled_from(["disconnect", "reconnect"]), st.integers(0, TABS - 1)),
)
programs = st.lists(step, min_size=3, max_size=14)

_lane = threading.local()


@pytest.fixture
def two_publishers() -> Iterator[None]:
    """Lane B's events go out on a second stream log's synchronous road, from the request's thread."""
    if channels_redis_wire.is_redis_layer(settings.CHANNEL_LAYERS["default"]):
        second = streams._build_log()  # its own Redis client on the same streams: another worker's
    else:
        second = streams.get_log()
    original = publish.publish_now

    def routed(event: Event) -> None:
        if getattr(_lane, "name", "A") == "B":
            second.publish([event])
        else:
            original(event)

    publish.publish_now = routed
    try:
        yield
    finally:
        publish.publish_now = original
        if second is not streams.get_log():
            asyncio.run(second.aclose())


@dataclass
class Scene:
    users: list[User]
    clients: list[ContractClient]
    posts: list[tuple[int, int]] = field(default_factory=list)  # (post id, author index)
    comments: list[tuple[int, int, int]] = field(default_factory=list)  # (comment id, post id, author index)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, lane: str, action: tuple[Any, ...]) -> None:
        _lane.name = lane
        try:
            self._run(action)
        finally:
            _lane.name = "A"

    def _run(self, action: tuple[Any, ...]) -> None:
        kind = action[0]
        if kind == "post":
            body = self.clients[action[1]].post("/api/posts/", {"content": "a post"}).json()
            with self.lock:
                self.posts.append((body["id"], action[1]))
        elif kind == "comment":
            _, author, post_ref, parent_ref = action
            post_id, _ = self.posts[post_ref % len(self.posts)]
            siblings = [c for c in self.comments if c[1] == post_id]
            payload: dict[str, Any] = {"content": "a comment"}
            if parent_ref is not None and siblings:
                payload["parent_id"] = siblings[parent_ref % len(siblings)][0]
            response = self.clients[author].post(f"/api/posts/{post_id}/comments/", payload)
            assert response.status_code in (201, 400), response.content  # 400: under something deleted
            if response.status_code == 201:
                with self.lock:
                    self.comments.append((response.json()["id"], post_id, author))
        elif kind in ("like", "unlike"):
            _, user, target, target_ref = action
            path = self._target_path(target, target_ref) + "like/"
            client = self.clients[user]
            response = client.post(path) if kind == "like" else client.delete(path)
            assert response.status_code in (200, 404), response.content  # 404: deleted
        else:
            _, target, target_ref = action
            author = self._author(target, target_ref)
            assert self.clients[author].delete(self._target_path(target, target_ref)).status_code == 204

    def _target(self, target: str, target_ref: int) -> tuple[int, int]:
        if target == "comment" and self.comments:
            comment_id, _, author = self.comments[target_ref % len(self.comments)]
            return comment_id, author
        post_id, author = self.posts[target_ref % len(self.posts)]
        return post_id, author

    def _target_path(self, target: str, target_ref: int) -> str:
        object_id, _ = self._target(target, target_ref)
        is_comment = target == "comment" and self.comments
        return f"/api/comments/{object_id}/" if is_comment else f"/api/posts/{object_id}/"

    def _author(self, target: str, target_ref: int) -> int:
        return self._target(target, target_ref)[1]


def _new_scene(make_user: Callable[..., User], contract_client: Callable[..., ContractClient]) -> Scene:
    # Each example starts from an empty feed: the last one's users and all they made go (a
    # cascade, their karma window rows too); the refresh pushes the emptied board.
    User.objects.all().delete()
    services.leaderboard_refresh()
    users = [make_user() for _ in range(USERS)]
    scene = Scene(users=users, clients=[contract_client(user) for user in users])
    post = services.post_create(author=users[0], content="where it starts")
    scene.posts.append((post.pk, 0))
    return scene


@hypothesis_settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(program=programs)
@pytest.mark.usefixtures("two_publishers")
async def test_every_tab_ends_equal_to_a_fresh_read(
    program: list[tuple[str, Any]],
    live_socket: Callable[..., Any],
    make_user: Callable[..., User],
    contract_client: Callable[..., ContractClient],
) -> None:
    scene = await sync_to_async(_new_scene)(make_user, contract_client)
    reader = await sync_to_async(contract_client)()
    tabs = [Follower(live_socket, reader) for _ in range(TABS)]
    for tab in tabs:
        await tab.start()
    online = [True] * TABS
    lanes: dict[str, tuple[Any, ...]] = {}

    async def run_round() -> None:
        await asyncio.gather(
            *(sync_to_async(scene.run, thread_sensitive=False)(lane, action) for lane, action in lanes.items())
        )
        lanes.clear()
        for tab, up in zip(tabs, online, strict=True):
            if up:
                await tab.pump(quiet=0.01)

    for kind, argument in program:
        if kind in ("A", "B"):
            if kind in lanes:
                await run_round()
            lanes[kind] = argument
            continue
        await run_round()
        tab_index = argument
        if kind == "disconnect" and online[tab_index]:
            await tabs[tab_index].disconnect()
            online[tab_index] = False
        elif kind == "reconnect" and not online[tab_index]:
            await tabs[tab_index].reconnect()
            online[tab_index] = True
    await run_round()
    for tab_index, tab in enumerate(tabs):
        if not online[tab_index]:
            await tab.reconnect()
    post_ids = {post_id for post_id, _ in scene.posts}
    # Karma that changed lands on the board within 1 s: converge waits for it, it does not sleep.
    for tab in tabs:
        await tab.converge(await fresh_view(reader, post_ids | set(tab.model.threads)), timeout=8.0)
    for tab in tabs:
        await tab.disconnect()
