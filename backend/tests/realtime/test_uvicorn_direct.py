"""The direct road into uvicorn's sans-I/O protocol, on a real server: fails if an upgrade moves what it reads.

A tiny ASGI app hands each accepted socket's send to the test, so the probe meets the very
object uvicorn gives an application, and the client reads the raw bytes on the wire.
"""

import asyncio
import base64
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.server import ServerProtocol

from realtime.uvicorn_direct import CLOSED, TOO_SLOW, WRITTEN, UvicornSocket, text_frame
from testing.plugin import eventually_async, free_port
from tests.realtime.test_real_server import raw_handshake

Send = Callable[[dict[str, Any]], Any]


class SendsOfAcceptedSockets:
    """An ASGI app that accepts every websocket and queues its send for the test."""

    def __init__(self) -> None:
        self.sends: asyncio.Queue[Send] = asyncio.Queue()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Send) -> None:
        assert scope["type"] == "websocket"
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        await self.sends.put(send)
        while (await receive())["type"] != "websocket.disconnect":
            pass


async def _serve(app: SendsOfAcceptedSockets, *, deflate: bool) -> AsyncIterator[str]:
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, ws="websockets-sansio", ws_per_message_deflate=deflate, lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually_async(lambda: server.started, "uvicorn started", timeout=10)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
def app() -> SendsOfAcceptedSockets:
    return SendsOfAcceptedSockets()


@pytest.fixture
async def server(app: SendsOfAcceptedSockets) -> AsyncIterator[str]:
    """uvicorn's sans-I/O protocol without compression, as KarmaFeed serves."""
    async for address in _serve(app, deflate=False):
        yield address


@pytest.fixture
async def deflate_server(app: SendsOfAcceptedSockets) -> AsyncIterator[str]:
    async for address in _serve(app, deflate=True):
        yield address


async def raw_client(address: str, *, extensions: str | None = None) -> tuple[asyncio.StreamReader, Any]:
    """A client that completes the handshake and then reads the server's bytes as they are."""
    host, port = address.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    offer = f"Sec-WebSocket-Extensions: {extensions}\r\n" if extensions else ""
    writer.write(
        (
            f"GET /ws/ HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n"
        ).encode()
    )
    response = await reader.readuntil(b"\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 101")
    return reader, writer


async def test_uvicorns_protocol_still_has_what_the_probe_reads(app: SendsOfAcceptedSockets, server: str) -> None:
    _, writer = await raw_client(server)
    send = await asyncio.wait_for(app.sends.get(), 5)
    protocol = getattr(send, "__self__", None)
    assert isinstance(protocol, WebSocketsSansIOProtocol), "the ASGI send is no longer a bound method of the protocol"
    assert isinstance(protocol.conn, ServerProtocol) and protocol.conn.extensions == []
    assert isinstance(protocol.transport, asyncio.Transport)
    assert protocol.close_sent is False
    await send({"type": "websocket.close", "code": 1000})
    assert protocol.close_sent is True
    writer.close()


async def test_a_frame_is_byte_for_byte_what_uvicorns_own_send_writes(app: SendsOfAcceptedSockets, server: str) -> None:
    reader, writer = await raw_client(server)
    send = await asyncio.wait_for(app.sends.get(), 5)
    uvicorn_socket = UvicornSocket.probe(send)
    assert uvicorn_socket is not None and uvicorn_socket.direct
    # The three lengths of RFC 6455's header: 7 bits, 16 bits, 64 bits.
    for text in ('{"type":"pong"}', "é" * 200, "z" * 70_000):
        expected = text_frame(text)
        await send({"type": "websocket.send", "text": text})
        assert await asyncio.wait_for(reader.readexactly(len(expected)), 5) == expected
        assert uvicorn_socket.write(expected, 1 << 30) == WRITTEN
        assert await asyncio.wait_for(reader.readexactly(len(expected)), 5) == expected
    writer.close()


async def test_a_socket_that_negotiated_compression_is_not_written_directly(
    app: SendsOfAcceptedSockets, deflate_server: str
) -> None:
    _, compressed_writer = await raw_client(deflate_server, extensions="permessage-deflate")
    compressed = UvicornSocket.probe(await asyncio.wait_for(app.sends.get(), 5))
    assert compressed is not None and not compressed.direct
    # Control: on the same server, a client that offers no extension is written directly.
    _, plain_writer = await raw_client(deflate_server)
    plain = UvicornSocket.probe(await asyncio.wait_for(app.sends.get(), 5))
    assert plain is not None and plain.direct
    compressed_writer.close()
    plain_writer.close()


async def test_a_send_that_is_not_uvicorns_is_not_probed(app: SendsOfAcceptedSockets, server: str) -> None:
    async def other_servers_send(message: dict[str, Any]) -> None:
        pass

    assert UvicornSocket.probe(other_servers_send) is None
    # Control: uvicorn's own send is.
    _, writer = await raw_client(server)
    assert UvicornSocket.probe(await asyncio.wait_for(app.sends.get(), 5)) is not None
    writer.close()


async def test_nothing_is_written_once_the_server_sent_its_close(app: SendsOfAcceptedSockets, server: str) -> None:
    _, writer = await raw_client(server)
    send = await asyncio.wait_for(app.sends.get(), 5)
    uvicorn_socket = UvicornSocket.probe(send)
    assert uvicorn_socket is not None
    frame = text_frame("{}")
    assert uvicorn_socket.write(frame, 1 << 30) == WRITTEN  # control: open, written
    await send({"type": "websocket.close", "code": 1000})
    assert uvicorn_socket.write(frame, 1 << 30) == CLOSED
    writer.close()


async def test_a_client_that_stops_reading_is_found_over_the_limit(app: SendsOfAcceptedSockets, server: str) -> None:
    stalled = raw_handshake(server, receive_buffer=4096)
    uvicorn_socket = UvicornSocket.probe(await asyncio.wait_for(app.sends.get(), 5))
    assert uvicorn_socket is not None
    frame = text_frame("z" * 60_000)
    # The kernel's buffers take the first frames; then the transport's own buffer grows.
    while uvicorn_socket.buffered() == 0:
        assert uvicorn_socket.write(frame, 1 << 30) == WRITTEN
    buffered = uvicorn_socket.buffered()
    assert uvicorn_socket.write(frame, buffered - 1) == TOO_SLOW
    assert uvicorn_socket.buffered() == buffered, "a socket over the limit is not written to"
    # Control: under a limit it has not reached, the same socket is written.
    assert uvicorn_socket.write(frame, buffered + len(frame)) == WRITTEN
    stalled.close()
