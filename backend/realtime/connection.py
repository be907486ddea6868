"""One websocket as the hub sees it: its groups, its frames held back, and the two ways to write.

A socket is written either straight into uvicorn's transport, with frames the hub built once
for every socket (realtime/uvicorn_direct.py), or through its ASGI send. Either way a client
that stops reading is closed once its unread bytes pass the hub's limit, where the server
shows them, so one stalled client cannot grow the process's memory without bound.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from ops import metrics
from realtime.uvicorn_direct import TOO_SLOW, WRITTEN, AsgiSend, UvicornSocket

logger = logging.getLogger(__name__)

# Close codes (4000-4999 are the application's own).
CLOSE_TOO_SLOW = 4009
# The streams this socket is in lost events the hub could not repair, or their epoch changed:
# reconnect and resume.
CLOSE_STREAMS_RESET = 4010

# Closes of sockets started from synchronous code, held until they finish.
_closing_sockets: set[asyncio.Future[None]] = set()


class Connection:
    """One websocket as the hub sees it."""

    __slots__ = ("_send", "_uvicorn", "close", "direct", "groups", "held", "label", "open", "seen")

    def __init__(self, send: AsgiSend, *, close: Callable[[int], Awaitable[None]], label: str = "") -> None:
        self._send = send
        self._uvicorn = UvicornSocket.probe(send)
        # Frames go straight into the transport (write_frame), not through the ASGI send (deliver).
        self.direct = self._uvicorn is not None and self._uvicorn.direct
        self.close = close
        # Frames the hub produced while the session was writing a reply that must come
        # first (hello, a resume's replay); None when frames go straight out.
        self.held: list[tuple[str, bytes]] | None = None
        # The groups this socket is in: the key of its hub bucket, shared with the bucket's
        # other sockets, so it is replaced, never changed in place.
        self.groups: frozenset[str] = frozenset()
        self.open = True
        self.label = label
        # How many of the hub's queued events this socket has had its share of (Hub.join sets it).
        self.seen = 0

    def _too_slow(self, buffered: int) -> None:
        self.open = False
        metrics.SLOW_SOCKETS_CLOSED.inc()
        logger.info("closing slow socket", extra={"socket": self.label, "buffered": buffered})

    def _over_limit(self, buffer_limit: int) -> bool:
        uvicorn = self._uvicorn
        if uvicorn is None or uvicorn.buffered() <= buffer_limit:
            return False
        self._too_slow(uvicorn.buffered())
        return True

    def write_frame(self, frame: bytes, buffer_limit: int) -> None:
        """The direct road: write the framed bytes now, without a coroutine per socket."""
        uvicorn = self._uvicorn
        if not self.open or uvicorn is None:
            return
        written = uvicorn.write(frame, buffer_limit)
        if written == WRITTEN:
            return
        self.open = False
        if written == TOO_SLOW:
            self._too_slow(uvicorn.buffered())
            close_soon(self, CLOSE_TOO_SLOW)

    async def deliver(self, text: str, buffer_limit: int) -> None:
        """The ASGI road: send the text through the server, which frames it."""
        if not self.open:
            return
        if self._over_limit(buffer_limit):
            await self.close(CLOSE_TOO_SLOW)
            return
        try:
            await self._send({"type": "websocket.send", "text": text})
        except Exception:  # noqa: BLE001 - the peer went away mid-write; its disconnect cleans up
            self.open = False

    async def write(self, text: str, framed: bytes, buffer_limit: int) -> None:
        """Either road, whichever this socket takes."""
        if self.direct:
            self.write_frame(framed, buffer_limit)
        else:
            await self.deliver(text, buffer_limit)


def close_soon(conn: Connection, code: int) -> None:
    """Close the socket from synchronous code: the close runs as a task of its own."""
    closing = asyncio.ensure_future(conn.close(code))
    _closing_sockets.add(closing)
    closing.add_done_callback(_closing_sockets.discard)


def reset(sockets: Iterable[Connection]) -> None:
    """Close these sockets with CLOSE_STREAMS_RESET: they reconnect and resume."""
    for conn in list(sockets):
        if conn.open:
            conn.open = False
            close_soon(conn, CLOSE_STREAMS_RESET)
