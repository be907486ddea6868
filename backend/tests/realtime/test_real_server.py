"""The fan-out on a real uvicorn server with real sockets: raw sends, batching, slow readers."""

import asyncio
import base64
import os
import socket
import struct
from typing import Any

import orjson
import pytest
import uvicorn
import websockets

from ops import metrics
from realtime import events, publish
from realtime.events import NumberedEvent
from realtime.runtime import get_runtime
from testing.plugin import eventually_async

pytestmark = pytest.mark.django_db(transaction=True)


def raw_handshake(server: str, *, receive_buffer: int | None = None) -> socket.socket:
    """A plain TCP socket that sends a websocket upgrade and reads nothing back."""
    host, port = server.split(":")
    raw = socket.socket()
    if receive_buffer is not None:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    raw.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    raw.sendall(
        (
            f"GET /ws/ HTTP/1.1\r\nHost: {server}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{server}\r\n\r\n"
        ).encode()
    )
    return raw


async def open_client(address: str) -> Any:
    client = await websockets.connect(f"ws://{address}/ws/", origin=websockets.Origin(f"http://{address}"))
    assert orjson.loads(await client.recv())["type"] == "hello"
    assert orjson.loads(await client.recv())["type"] == "leaderboard"
    return client


async def test_events_of_one_round_arrive_as_one_batch_frame_shared_by_sockets(server: str) -> None:
    clients = [await open_client(server) for _ in range(3)]
    for client in clients:
        await client.send(orjson.dumps({"type": "subscribe", "post_ids": [7]}).decode())
        assert orjson.loads(await client.recv())["type"] == "subscribed"
    hub = (await get_runtime()).hub
    post_seq, feed_seq = hub.position("post.7"), hub.position("feed")
    assert post_seq is not None and feed_seq is not None
    # Queued without yielding to the loop, so all of it lands in one delivery round.
    for version in (3, 5):
        event = events.post_likes(post_id=7, like_count=version, version=version)
        post_seq += 1
        hub.enqueue(NumberedEvent(event.group, post_seq, events.stamp(event.text, event.group, post_seq)))
    created = events.post_created({"id": 1, "content": "x"}).text
    hub.enqueue(NumberedEvent("feed", feed_seq + 1, events.stamp(created, "feed", feed_seq + 1)))
    unfollowed = events.post_likes(post_id=8, like_count=1, version=1)
    hub.enqueue(NumberedEvent(unfollowed.group, 1, events.stamp(unfollowed.text, unfollowed.group, 1)))
    # No compression, as `make run` serves: each socket takes the hub's pre-framed path.
    assert all(conn.direct for conn in hub.members.of("feed"))
    frames = [await asyncio.wait_for(client.recv(), 2) for client in clients]
    assert len(set(frames)) == 1, "sockets with the same share get the same encoded frame"
    frame = orjson.loads(frames[0])
    assert frame["type"] == "batch"
    assert [(e["type"], e.get("like_count")) for e in frame["events"]] == [
        ("post.likes", 3),
        ("post.likes", 5),
        ("post.created", None),
    ]
    for client in clients:
        await client.close()


async def test_a_socket_that_stops_reading_is_closed_and_the_others_keep_going(server: str) -> None:
    # A client that completes the handshake, then never reads: tiny receive buffer.
    stalled = raw_handshake(server, receive_buffer=4096)
    healthy = await open_client(server)
    hub = (await get_runtime()).hub
    await eventually_async(lambda: hub.socket_count == 2, "the stalled and the healthy socket are in the hub")
    closed_before = metrics.SLOW_SOCKETS_CLOSED._value.get()
    big = events.post_created({"id": 1, "content": "z" * 60_000})
    received = 0
    for _ in range(400):  # 24 MB in all: far past what the kernel buffers hold for the staller
        await publish.send_event(big)
        await asyncio.sleep(0.005)
        try:
            while True:
                await asyncio.wait_for(healthy.recv(), 0.001)
                received += 1
        except TimeoutError:
            pass
        if hub.socket_count == 1:
            break
    assert hub.socket_count == 1, "the stalled socket should have been dropped"
    assert metrics.SLOW_SOCKETS_CLOSED._value.get() == closed_before + 1
    assert received > 0
    stalled.close()
    await healthy.close()


async def test_sockets_that_vanish_during_the_handshake_leave_no_trace(
    server: str, uvicorn_server: uvicorn.Server
) -> None:
    hub = (await get_runtime()).hub
    for _ in range(20):
        aborted = raw_handshake(server)
        # Reset the connection at once: the server learns of it mid-handshake.
        aborted.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        aborted.close()
    # Accepted after the aborted ones, so once it is through, the server has seen them all.
    healthy = await open_client(server)
    state = uvicorn_server.server_state
    await eventually_async(
        lambda: len(state.connections) == 1 and len(state.tasks) == 1,
        "the aborted handshakes ended on the server (only the healthy socket's connection and task left)",
    )
    # The healthy socket is counted (positive control); the vanished ones left nothing behind.
    assert hub.socket_count == 1, "sockets that went away must leave the hub's groups"
    await healthy.close()
