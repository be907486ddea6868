"""Slow request bodies: read with a deadline before a request takes one of Django's slots.

On a real uvicorn server: clients that send their bodies a byte at a time must not stall the
worker's other requests, and one that never finishes gets a 408.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import uvicorn

pytestmark = pytest.mark.django_db(transaction=True)

SLOW_CLIENTS = 16


@pytest.fixture
async def server(serve_app: Callable[..., Awaitable[uvicorn.Server]]) -> int:
    """The port of the app on a real uvicorn."""
    return (await serve_app()).config.port


async def _slow_post(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A POST that announces 1,000 bytes of body and sends one."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /api/posts/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    await writer.drain()
    return reader, writer


async def _get(port: int, path: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


async def test_health_answers_while_slow_clients_hold_their_bodies_open(server: int, settings: Any) -> None:
    slow = [await _slow_post(server) for _ in range(SLOW_CLIENTS)]
    try:
        # More slow bodies than the worker has request slots: without the deadline read
        # in front, every slot waits for a body and this request waits behind them.
        assert SLOW_CLIENTS > settings.HTTP_MAX_CONCURRENCY
        answer = await asyncio.wait_for(_get(server, "/api/health/"), timeout=5)
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    finally:
        for _, writer in slow:
            writer.close()


def body_reader() -> Any:
    """The served app's RequestBodyDeadline (behind the roads on the loop, where they run)."""
    from config.asgi import application
    from ops.request_body import RequestBodyDeadline

    http = application.application_mapping["http"]
    while not isinstance(http, RequestBodyDeadline):
        http = http.django_app
    return http


async def test_a_body_that_never_finishes_gets_a_408(server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(body_reader(), "timeout", 0.5)
    reader, writer = await _slow_post(server)
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b'"detail"' in answer


async def test_a_body_sent_in_pieces_within_the_deadline_is_served(server: int) -> None:
    # Positive control: a slow but finished body reaches Django (a 403: no CSRF token).
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    body = b'{"content": "hello"}'
    writer.write(
        b"POST /api/posts/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )
    for piece in (body[:5], body[5:12], body[12:]):
        writer.write(piece)
        await writer.drain()
        await asyncio.sleep(0.05)
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 403 "), answer[:200]


async def test_a_body_over_the_limit_gets_a_413_without_being_read_to_the_end(
    server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(body_reader(), "max_bytes", 1000)
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(b"POST /api/posts/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 5000)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
