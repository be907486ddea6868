"""ASGI middleware: read an HTTP request's body with a deadline before the app sees it.

uvicorn times out idle connections but not a body that trickles in, and Django reads the
whole body inside its request slot (HttpConcurrencyLimit), so a few clients sending a
byte at a time held every slot of a worker. Here the body is read first, outside the
slots, within `timeout` seconds (else 408) and up to `max_bytes` (else 413); the app then
receives it as one message.
"""

import asyncio
from typing import Any

import orjson

Message = dict[str, Any]


async def _answer(send: Any, status: int, detail: str) -> None:
    body = orjson.dumps({"detail": detail})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        # The rest of the body may still be on its way: this connection is done.
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class RequestBodyDeadline:
    def __init__(self, app: Any, *, timeout: float, max_bytes: int) -> None:
        self.app = app
        self.timeout = timeout
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            async with asyncio.timeout(self.timeout):
                first = await self._read_body(receive)
        except TimeoutError:
            await _answer(send, 408, f"The request body did not arrive within {self.timeout:g} seconds.")
            return
        except _TooLarge:
            await _answer(send, 413, f"Request bodies are limited to {self.max_bytes} bytes.")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return first

        await self.app(scope, replay, send)

    async def _read_body(self, receive: Any) -> Message:
        message: Message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return message
        chunks: list[bytes] = []
        size = 0
        while True:
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                raise _TooLarge
            if not message.get("more_body"):
                break
            message = await receive()
            if message["type"] != "http.request":
                return message  # the client left; the app sees the disconnect
        return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
