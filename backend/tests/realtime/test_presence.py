"""post.viewers and `viewers` in `subscribed`: counts across workers, pushes at most once an
interval per post, a dead worker's sockets dropped when its lease ends."""

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings as django_settings

from accounts.models import User
from realtime import presence as presence_module
from realtime import streams
from realtime.connection import Connection
from realtime.events import FEED_GROUP, NumberedEvent, post_group
from realtime.hub import Hub
from realtime.presence import Presence, deployment_prefix
from realtime.presence_memory import MemoryPresenceStore
from realtime.presence_redis import RedisPresenceStore
from realtime.runtime import get_runtime
from realtime.tasks import cancel_and_wait
from testing.plugin import eventually_async, redis_servers
from tests.factories import make_post


async def discard(message: dict[str, Any]) -> None:
    pass


async def nothing(code: int) -> None:
    pass


# -- through the consumer, on whichever store the run has ---------------------------------


@pytest.mark.django_db(transaction=True)
async def test_subscribed_counts_the_asking_socket_and_followers_hear_of_changes(
    live_socket: Callable[..., Any], make_user: Callable[..., User]
) -> None:
    post = await sync_to_async(make_post)(await sync_to_async(make_user)())
    subscribe = {"type": "subscribe", "post_ids": [post.pk]}
    first = await live_socket()
    assert (await first.request(subscribe, "subscribed"))["posts"][0]["viewers"] == 1
    second = await live_socket()
    assert (await second.request(subscribe, "subscribed"))["posts"][0]["viewers"] == 2
    await first.wait_for("post.viewers", timeout=10, post_id=post.pk, count=2)
    await second.request({"type": "unsubscribe", "post_ids": [post.pk]}, "unsubscribed")
    await first.wait_for("post.viewers", timeout=10, post_id=post.pk, count=1)
    # The one who left does not hear of the count it left behind (the push above came first).
    await second.assert_silent("post.viewers", within=0.5, count=1)


@pytest.mark.django_db(transaction=True)
async def test_a_socket_that_disconnects_stops_counting(
    live_socket: Callable[..., Any], make_user: Callable[..., User]
) -> None:
    post = await sync_to_async(make_post)(await sync_to_async(make_user)())
    subscribe = {"type": "subscribe", "post_ids": [post.pk]}
    stays, goes = await live_socket(), await live_socket()
    await stays.request(subscribe, "subscribed")
    await goes.request(subscribe, "subscribed")
    viewers = await stays.wait_for("post.viewers", timeout=10, post_id=post.pk)
    assert "seq" not in viewers and "stream" not in viewers
    assert viewers["count"] == 2
    await goes.communicator.disconnect()
    await stays.wait_for("post.viewers", timeout=10, post_id=post.pk, count=1)


@pytest.mark.django_db(transaction=True)
async def test_pushes_of_a_post_are_an_interval_apart_however_often_it_changes(
    live_socket: Callable[..., Any], make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    post = await sync_to_async(make_post)(await sync_to_async(make_user)())
    runtime = await get_runtime()
    loop = asyncio.get_running_loop()
    pushed_at: list[float] = []
    enqueue = runtime.hub.enqueue

    def recording_enqueue(event: NumberedEvent) -> None:
        if '"type":"post.viewers"' in event.text and event.stream == post_group(post.pk):
            pushed_at.append(loop.time())
        enqueue(event)

    monkeypatch.setattr(runtime.hub, "enqueue", recording_enqueue)
    follower = await live_socket()
    await follower.request({"type": "subscribe", "post_ids": [post.pk]}, "subscribed")
    # More followers join without pause (sockets as the hub sees them, without a client
    # each), so the count is different at every round.
    joined: list[Connection] = []
    async with asyncio.timeout(20):
        while len(pushed_at) < 3:
            joined.append(Connection(discard, close=nothing))
            runtime.hub.join(joined[-1], post_group(post.pk))
            await asyncio.sleep(0.01)  # the pace of the joins (a hundred a second), not a wait for anything
    for connection in joined:
        runtime.hub.leave_all(connection)
    interval = django_settings.REALTIME["PRESENCE_INTERVAL"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(pushed_at)]
    assert all(gap >= interval - 0.01 for gap in gaps), gaps
    assert len(joined) > 2 * len(pushed_at)  # the count changed far more often than it was pushed
    # The follower hears each push, the count growing every time.
    counts = [(await follower.wait_for("post.viewers", timeout=5))["count"] for _ in pushed_at]
    assert counts == sorted(set(counts))


# -- two workers on the real Redis ---------------------------------------------------------


class Worker:
    """One worker's realtime side: its hub, its presence on the shared Redis, its sockets."""

    def __init__(self, prefix: str, *, interval: float, ttl: float) -> None:
        layer = get_channel_layer()
        assert layer is not None
        self.hub = Hub(layer, streams.get_log(), flush_interval=0.02, buffer_limit=1 << 20)
        self.presence = Presence(
            self.hub,
            RedisPresenceStore(client=redis_servers().async_client(), prefix=prefix),
            interval=interval,
            ttl=ttl,
        )
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.hub.start()
        self.task = asyncio.create_task(self.presence.run())

    def follower(self, post_id: int) -> list[dict[str, Any]]:
        """A socket following the post; returns the list its events land in."""
        received: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            payload = orjson.loads(message["text"])
            received.extend(payload["events"] if payload["type"] == "batch" else [payload])

        async def overflow(code: int) -> None:
            raise AssertionError(f"a test socket was closed with {code}")

        self.hub.join(Connection(send, close=overflow), FEED_GROUP, post_group(post_id))
        return received

    async def kill(self) -> None:
        """Stop as SIGKILL would: nothing more is written to Redis, nothing is cleaned up."""
        assert self.task is not None
        await cancel_and_wait([self.task])
        await self.hub.stop()


def last_count(received: list[dict[str, Any]], post_id: int) -> int | None:
    counts = [e["count"] for e in received if e["type"] == "post.viewers" and e["post_id"] == post_id]
    return counts[-1] if counts else None


@pytest.fixture
async def two_workers() -> AsyncIterator[Callable[..., Awaitable[tuple[Worker, Worker]]]]:
    started: list[Worker] = []
    prefix = f"{deployment_prefix()}:t{uuid.uuid4().hex[:8]}"

    async def start(*, interval: float = 0.2, ttl: float = 1.5) -> tuple[Worker, Worker]:
        pair = Worker(prefix, interval=interval, ttl=ttl), Worker(prefix, interval=interval, ttl=ttl)
        for worker in pair:
            await worker.start()
            started.append(worker)
        return pair

    yield start
    for worker in started:
        if worker.task is not None and not worker.task.done():
            await worker.kill()
        await worker.presence.close()


@pytest.mark.needs_services
async def test_counts_add_up_across_two_workers(two_workers: Callable[..., Any]) -> None:
    one, two = await two_workers()
    on_one = [one.follower(42) for _ in range(2)]
    on_two = [two.follower(42) for _ in range(3)]
    await eventually_async(lambda: all(last_count(r, 42) == 5 for r in on_one + on_two), "5 viewers on both workers")
    # A subscribe answer counts the asking socket at once, and the other worker's as of its last round.
    one.follower(42)
    assert one.presence.viewers(42) == 6
    await eventually_async(lambda: last_count(on_two[0], 42) == 6, "the other worker told of the 6th")


@pytest.mark.needs_services
async def test_a_killed_workers_sockets_stop_counting_when_its_lease_ends(two_workers: Callable[..., Any]) -> None:
    ttl = 1.5
    one, two = await two_workers(ttl=ttl)
    survivor = one.follower(7)
    for _ in range(3):
        two.follower(7)
    await eventually_async(lambda: last_count(survivor, 7) == 4, "4 viewers over two workers")  # positive control
    loop = asyncio.get_running_loop()
    killed_at = loop.time()
    await two.kill()
    await eventually_async(lambda: last_count(survivor, 7) == 1, "the killed worker's 3 gone", timeout=ttl + 5)
    # Not before the lease ran out: a worker that is merely slow is not dropped early.
    assert loop.time() - killed_at >= ttl - 0.3


@pytest.mark.needs_services
async def test_a_worker_that_shuts_down_cleanly_stops_counting_at_once(two_workers: Callable[..., Any]) -> None:
    one, two = await two_workers(ttl=30)
    survivor = one.follower(9)
    two.follower(9)
    await eventually_async(lambda: last_count(survivor, 9) == 2, "2 viewers over two workers")
    await two.kill()
    await two.presence.close()
    await eventually_async(lambda: last_count(survivor, 9) == 1, "the stopped worker's follower gone")  # lease is 30 s


# -- coalescing of crowded posts (memory store, rounds run by hand) ------------------------


class CountingHub:
    """The hub as presence sees it: a set number of local followers per post, pushes recorded."""

    def __init__(self) -> None:
        self.followers: dict[str, int] = {}
        self.pushed: list[dict[str, Any]] = []

    def member_count(self, group: str) -> int:
        return self.followers.get(group, 0)

    def member_counts(self) -> dict[str, int]:
        return dict(self.followers)

    def enqueue(self, event: NumberedEvent) -> None:
        self.pushed.append(orjson.loads(event.text))


async def test_a_crowded_posts_small_changes_wait_a_few_rounds_and_large_ones_do_not() -> None:
    hub = CountingHub()
    presence = Presence(hub, MemoryPresenceStore(), interval=2.0, ttl=30.0)
    hub.followers[post_group(1)] = 1000
    hub.followers[post_group(2)] = 10
    await presence.sync_round()
    assert [(e["post_id"], e["count"]) for e in hub.pushed] == [(1, 1000), (2, 10)]
    hub.pushed.clear()
    # Under 1 % of 1,000: held back; any change of a small post goes out at once.
    hub.followers[post_group(1)] = 1003
    hub.followers[post_group(2)] = 11
    await presence.sync_round()
    assert [(e["post_id"], e["count"]) for e in hub.pushed] == [(2, 11)]
    hub.pushed.clear()
    rounds = 1
    while not hub.pushed:
        await presence.sync_round()
        rounds += 1
    assert rounds == presence_module.SMALL_CHANGE_ROUNDS
    assert [(e["post_id"], e["count"]) for e in hub.pushed] == [(1, 1003)]
    hub.pushed.clear()
    # 1 % or more goes out at the next round.
    hub.followers[post_group(1)] = 1014
    await presence.sync_round()
    assert [(e["post_id"], e["count"]) for e in hub.pushed] == [(1, 1014)]
    # Unchanged: nothing.
    hub.pushed.clear()
    await presence.sync_round()
    assert hub.pushed == []
