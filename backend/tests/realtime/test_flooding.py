"""A socket closed for flooding is closed once, and its cleanup runs (on a real server)."""

import asyncio

import orjson
import pytest
import websockets
from prometheus_client import REGISTRY

from ops import metrics
from realtime.runtime import get_runtime
from testing.plugin import eventually_async
from tests.realtime.test_real_server import open_client

pytestmark = pytest.mark.django_db(transaction=True)


def open_sockets() -> float:
    return REGISTRY.get_sample_value("karmafeed_open_sockets") or 0.0


async def test_a_flooding_socket_is_closed_once_and_leaves_the_gauge_and_the_hub(server: str) -> None:
    before = open_sockets()
    hub = (await get_runtime()).hub
    bystander = await open_client(server)
    flooder = await open_client(server)
    # Positive control: the gauge and the hub count both sockets while they are open.
    assert open_sockets() == before + 2
    assert hub.socket_count == 2
    flooders_closed = metrics.SOCKETS_CLOSED_FLOODING._value.get()
    ping = orjson.dumps({"type": "ping"}).decode()
    # The close frame (CLOSE_FLOODING) may be lost to the connection reset that follows, when
    # the server drops the frames still on their way: the counter says why it closed.
    with pytest.raises(websockets.ConnectionClosed):
        for _ in range(2000):
            await flooder.send(ping)
        while True:
            await asyncio.wait_for(flooder.recv(), 5)
    assert metrics.SOCKETS_CLOSED_FLOODING._value.get() == flooders_closed + 1
    await eventually_async(
        lambda: open_sockets() == before + 1 and hub.socket_count == 1, "the flooder left the gauge and the hub"
    )
    # The bystander is unaffected.
    await bystander.send(ping)
    assert orjson.loads(await asyncio.wait_for(bystander.recv(), 3))["type"] == "pong"
    await bystander.close()
    await eventually_async(lambda: open_sockets() == before, "the gauge back where it started")
