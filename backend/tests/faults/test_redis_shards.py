"""Two Redis shards for the channel layer (REDIS_URL with two URLs): writes served by the HTTP
workers and the like workers reach the sockets of every socket worker, for every group (feed,
post.<id>, leaderboard).

    cd backend && .venv/bin/pytest tests/faults/test_redis_shards.py
"""

import asyncio
from collections.abc import Callable

import pytest
from asgiref.sync import sync_to_async
from channels_redis.utils import _consistent_hash

from accounts.models import User
from realtime.events import EVENTS_GROUP
from testing.plugin import eventually_async
from tests.factories import make_post
from tests.faults.conftest import FaultStack
from tests.faults.harness import Browser, SocketFleet, http
from tests.faults.servers import RedisProcess

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_services]


def likers_to_reach_the_top(base_url: str) -> int:
    """Post likes (5 karma each) a new author needs to enter the top 5, so the board changes."""
    entries = http("GET", base_url + "/api/leaderboard/").json()["entries"]
    return 1 if len(entries) < 5 else entries[-1]["karma"] // 5 + 1


async def test_two_shards_carry_every_group_to_every_worker(
    start_redis: Callable[..., RedisProcess], start_stack: Callable[..., FaultStack], make_user: Callable[..., User]
) -> None:
    shards = [start_redis(), start_redis()]
    stack = await asyncio.to_thread(start_stack, {"REDIS_URL": ",".join(shard.url for shard in shards)})
    layer_prefix = stack.environment()["REDIS_CHANNEL_PREFIX"]
    events_channel = f"{layer_prefix}__group__{EVENTS_GROUP}"
    events_shard = shards[_consistent_hash(events_channel, len(shards))]
    # Positive control: the workers' hubs listen on the shard the layer maps the events group to
    # (the like workers' too: they are ASGI workers with a hub, though they hold no socket).
    hubs = len(stack.worker_names) + len(stack.like_worker_names)

    def listeners() -> int:
        ((_, count),) = events_shard.client().pubsub_numsub(events_channel)
        return int(count)

    await eventually_async(lambda: listeners() == hubs, f"{hubs} hubs subscribed to the events group's shard")

    author = await sync_to_async(make_user)()
    post = await sync_to_async(make_post)(author)
    fleet = SocketFleet(stack.url, [post.pk])
    await fleet.open(2, set(stack.worker_names))
    needed = await asyncio.to_thread(likers_to_reach_the_top, stack.url)
    likers = [await sync_to_async(make_user)() for _ in range(needed)]
    author_browser = await sync_to_async(Browser)(stack.url, author)
    browsers = [await sync_to_async(Browser)(stack.url, liker) for liker in likers]

    like_served_by = set()
    created = await asyncio.to_thread(author_browser.send_json, "POST", "/api/posts/", {"content": "across shards"})
    comment = await asyncio.to_thread(
        author_browser.send_json, "POST", f"/api/posts/{post.pk}/comments/", {"content": "a reply"}
    )
    assert (created.status, comment.status) == (201, 201), (created.body, comment.body)
    for browser in browsers:
        for path in (f"/api/posts/{post.pk}/like/", f"/api/comments/{comment.json()['id']}/like/"):
            answer = await asyncio.to_thread(browser.send, "POST", path)
            assert answer.status == 200, answer.body
            like_served_by.add(answer.headers["X-Served-By"])
    # Likes are served by the like workers, the other writes by the HTTP workers, sockets held
    # by the socket workers: every event crosses processes through the layer.
    assert like_served_by <= set(stack.like_worker_names), like_served_by
    for answer in (created, comment):
        assert answer.headers["X-Served-By"] in stack.http_worker_names

    wanted = {
        "post.created": lambda e: e["post"]["id"] == created.json()["id"],
        "comment.created": lambda e: e["comment"]["id"] == comment.json()["id"],
        "post.likes": lambda e: e["post_id"] == post.pk and e["like_count"] == needed,
        "comment.likes": lambda e: e["comment_id"] == comment.json()["id"] and e["like_count"] == needed,
        "leaderboard": lambda e: any(entry["user"]["id"] == author.pk for entry in e["entries"]),
    }

    def missing() -> list[str]:
        return [
            f"{fleet_socket.served_by}: {kind}"
            for fleet_socket in fleet.sockets
            for kind, matches in wanted.items()
            if not any(e["type"] == kind and matches(e) for e in fleet_socket.events)
        ]

    deadline = asyncio.get_running_loop().time() + 10
    while missing():
        fleet.check_running()
        assert asyncio.get_running_loop().time() < deadline, missing()
        await asyncio.sleep(0.05)
    await fleet.close()
