"""Redis down: writes still succeed, health says so, and events flow again when it is back.

A private redis-server on its own port is started, stopped and restarted by the test, so the
shared Redis of the machine is never touched.
"""

import socket
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from accounts.models import User
from testing.plugin import ContractClient, eventually, free_port
from tests.factories import make_post

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_services]


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        eventually(
            self.accepts,
            f"the private redis-server listens on port {self.port}",
            timeout=10,
            ignoring=(OSError,),
        )

    def accepts(self) -> bool:
        socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
        return True

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def private_redis(settings: Any) -> Iterator[PrivateRedis]:
    redis = PrivateRedis()
    redis.start()
    layer = {**settings.CHANNEL_LAYERS["default"]}
    layer["CONFIG"] = {**layer["CONFIG"], "hosts": [{**layer["CONFIG"]["hosts"][0], "address": redis.url}]}
    settings.CHANNEL_LAYERS = {"default": layer}  # channels resets its layers on this signal
    yield redis
    redis.stop()


def health(client: ContractClient) -> tuple[int, dict[str, Any]]:
    response = client.get("/api/health/")
    return response.status_code, response.json()


def test_health_is_green_with_both_services(contract_client: Callable[..., ContractClient]) -> None:
    status, body = health(contract_client())
    assert status == 200
    assert body == {"ok": True, "database": {"ok": True}, "channel_layer": {"ok": True}}


def test_writes_succeed_while_redis_is_down_and_health_says_so(
    private_redis: PrivateRedis, make_user: Callable[..., User], contract_client: Callable[..., ContractClient]
) -> None:
    author = make_user()
    post = make_post(author)
    client = contract_client(make_user())
    private_redis.stop()
    response = client.post(f"/api/posts/{post.pk}/like/")
    assert response.status_code == 200 and response.json() == {"liked": True, "like_count": 1, "version": 1}
    created = client.post("/api/posts/", {"content": "written while Redis is down"})
    assert created.status_code == 201
    post.refresh_from_db()
    assert post.like_count == 1
    status, body = health(client)
    assert status == 503
    assert body == {"ok": False, "database": {"ok": True}, "channel_layer": {"ok": False}}
    private_redis.start()
    assert health(client)[0] == 200


async def test_after_redis_returns_empty_sockets_are_reset_and_a_resume_resyncs(
    private_redis: PrivateRedis,
    live_socket: Callable[..., Any],
    make_user: Callable[..., User],
    contract_client: Callable[..., ContractClient],
) -> None:
    author, fan_a, fan_b = [await sync_to_async(make_user)() for _ in range(3)]
    post = await sync_to_async(make_post)(author)
    stream = f"post.{post.pk}"
    socket_ = await live_socket()
    await socket_.request({"type": "subscribe", "post_ids": [post.pk]}, "subscribed")
    old_epoch, old_positions = socket_.epoch, dict(socket_.positions)
    client_a = await sync_to_async(contract_client)(fan_a)
    client_b = await sync_to_async(contract_client)(fan_b)

    await sync_to_async(private_redis.stop)()
    response = await sync_to_async(client_a.post)(f"/api/posts/{post.pk}/like/")
    assert response.status_code == 200  # committed; its push waits for Redis
    await socket_.assert_silent("post.likes", within=0.5)

    await sync_to_async(private_redis.start)()
    # Redis came back empty: the history is gone, so the positions of live sockets are void.
    # The worker notices the new epoch and closes its sockets so that they resume.
    assert await socket_.wait_closed(timeout=15) == 4010
    fresh = await live_socket()
    assert fresh.epoch != old_epoch
    answer = await fresh.resume(old_positions, epoch=old_epoch)
    assert answer["recovered"] == [] and sorted(answer["resync"]) == sorted(old_positions)
    # Resync means: read afresh. The retried push of the like was not lost either.
    snapshot = await fresh.request({"type": "subscribe", "post_ids": [post.pk]}, "subscribed")
    assert snapshot["posts"][0]["like_count"] == 1
    await sync_to_async(client_b.post)(f"/api/posts/{post.pk}/like/")
    event = await fresh.wait_for("post.likes", post_id=post.pk)
    assert event["like_count"] == 2 and event["stream"] == stream and event["seq"] == fresh.positions[stream]
