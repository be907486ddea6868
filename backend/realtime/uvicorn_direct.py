"""The hub's road around the ASGI send, into uvicorn's sans-I/O websocket protocol.

ASGI makes each socket write a coroutine call that frames the text again for every socket.
A frame from server to client is unmasked, so its bytes are the same for every socket that
gets the same text: where the server is uvicorn's sans-I/O protocol (what KarmaFeed serves
with) and the socket negotiated no extension (compression), the hub frames a text once, with
the `websockets` library's own framing (the one that protocol uses), and writes the bytes
straight into each socket's transport.

ASGI also has no back-pressure for websocket sends: that protocol writes each frame into the
transport at once, so a client that stops reading grows the transport's buffer. The same
object shows that buffer's size, which the hub caps.

This is the one place that reads the protocol's internals (`conn`, `transport`,
`close_sent`): tests/realtime/test_uvicorn_direct.py fails if an upgrade of uvicorn or
websockets moves them, and tests/realtime/test_real_server.py runs the road on a real server.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

AsgiSend = Callable[[dict[str, Any]], Awaitable[None]]


def text_frame(text: str) -> bytes:
    """The websocket frame the server would write for this text: one final, unmasked text frame."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])


# What write() did. Plain ints, not an Enum: on Python 3.11 reading an Enum member costs
# more than the write itself, and this runs for every socket and frame.
WRITTEN = 0
# The socket is closing or closed: nothing more reaches the client.
CLOSED = 1
# The client left more unread bytes than the limit: it stopped reading.
TOO_SLOW = 2
_OPEN = State.OPEN


class UvicornSocket:
    """One socket's uvicorn protocol object, as the hub may use it."""

    __slots__ = ("_protocol", "_state", "_transport", "direct")

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol
        self._state = protocol.conn
        self._transport = protocol.transport
        # The frames of text_frame() are what this socket's own send would write.
        self.direct = not protocol.conn.extensions

    @classmethod
    def probe(cls, send: AsgiSend) -> "UvicornSocket | None":
        """The protocol object behind an ASGI send, if it is uvicorn's sans-I/O one."""
        protocol = getattr(send, "__self__", None)
        if not isinstance(protocol, WebSocketsSansIOProtocol) or protocol.transport is None:
            return None
        return cls(protocol)

    def buffered(self) -> int:
        """Bytes written to the socket that the client has not taken yet."""
        return self._transport.get_write_buffer_size()

    def write(self, frame: bytes, buffer_limit: int) -> int:
        """Write a frame of text_frame() now, unless the socket is closing or over the limit:
        WRITTEN, CLOSED or TOO_SLOW.

        Only where `direct`: the frame must be what the socket's own send would write. One
        call per socket and frame, on the path that carries every broadcast.
        """
        transport = self._transport
        if self._protocol.close_sent or self._state.state is not _OPEN or transport.is_closing():
            return CLOSED
        if transport.get_write_buffer_size() > buffer_limit:
            return TOO_SLOW
        transport.write(frame)
        return WRITTEN
