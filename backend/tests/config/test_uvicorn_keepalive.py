"""Dead websocket peers are found and dropped by the server (uvicorn's sans-I/O protocol pings none)."""

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import uvicorn

from realtime.runtime import get_runtime
from testing.plugin import eventually_async
from tests.realtime.test_real_server import open_client, raw_handshake

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def server(serve_app: Callable[..., Awaitable[uvicorn.Server]]) -> str:
    """The server as it is served, with short keepalive timers so the test runs in seconds."""
    served = await serve_app(ws_ping_interval=0.5, ws_ping_timeout=0.5)
    return f"127.0.0.1:{served.config.port}"


async def test_a_peer_that_stops_answering_is_dropped_and_a_live_one_stays(server: str) -> None:
    hub = (await get_runtime()).hub
    # A raw client: completes the handshake, then never reads or answers a ping.
    silent = raw_handshake(server)
    live = await open_client(server)  # the websockets client answers pings by itself
    await eventually_async(lambda: hub.socket_count == 2, "both sockets joined")
    await eventually_async(lambda: hub.socket_count == 1, "the silent peer was dropped", timeout=10)
    await asyncio.sleep(2.0)  # four ping intervals: the answering peer must still be there
    assert hub.socket_count == 1
    await live.send('{"type": "ping"}')
    assert "pong" in await asyncio.wait_for(live.recv(), 3)
    await live.close()
    silent.close()
