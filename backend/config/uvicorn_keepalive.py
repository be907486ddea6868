"""uvicorn's sans-I/O websocket protocol, with the keepalive pings it lacks.

uvicorn's `--ws-ping-interval` and `--ws-ping-timeout` drive pings in its other websocket
implementations; its sans-I/O one (the cheapest per frame, which KarmaFeed serves with) sends
none, so a peer that vanished without a FIN (a laptop put to sleep, a network gone) kept
its socket, its hub groups and its place in the open-sockets gauge until TCP gave up, many
minutes later. This subclass pings a peer it has not heard from for `ws_ping_interval`
seconds and drops one that stays silent `ws_ping_timeout` seconds more: any bytes from the
peer, a pong or a frame, count as a sign of life. The drop reaches the app as an ordinary
disconnect. It reaches into the protocol's internals (`conn`, `transport`,
`handshake_complete`, `close_sent`): tests/config/test_uvicorn_keepalive.py runs it on a
real server and fails if an upgrade moves them.
"""

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class KeepaliveWebSocketProtocol(WebSocketsSansIOProtocol):
    _keepalive: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._last_heard = self.loop.time()
        self._interval = self.config.ws_ping_interval or 20.0
        self._timeout = self.config.ws_ping_timeout or 20.0
        self._keepalive = self.loop.call_later(self._interval, self._check_peer)

    def data_received(self, data: bytes) -> None:
        self._last_heard = self.loop.time()
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
        super().connection_lost(exc)

    def _check_peer(self) -> None:
        if self.transport.is_closing():
            return
        silent = self.loop.time() - self._last_heard
        if silent >= self._interval + self._timeout:
            self.transport.abort()  # connection_lost follows: the app sees a disconnect
            return
        if silent >= self._interval and self.handshake_complete and not self.close_sent:
            self.conn.send_ping(b"")
            self.transport.write(b"".join(self.conn.data_to_send()))
        next_check = self._timeout if silent >= self._interval else self._interval - silent
        self._keepalive = self.loop.call_later(next_check, self._check_peer)
