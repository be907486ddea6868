"""The websocket session behind /ws/: hello, subscribe, unsubscribe, resume, ping, errors.

Broadcasts never pass through this class: the process hub writes them to the socket's raw
ASGI send. The session only answers the client and tells the hub what the socket follows.
It acts on frames realtime/client_messages.py has already read and checked, and closes a
socket that sends faster than its realtime/token_bucket.py allows.

`SocketSession` is a plain ASGI application instance, one per socket, not a Channels
consumer: Channels' AsyncConsumer gives every socket a channel of the layer (the process hub
is the layer's only member here), runs each receive() as a task waited on with asyncio.wait
(a task and a waiter alive as long as the socket), and closes stale database connections
through a thread hop before every message. This session touches the database only through
database_sync_to_async, which closes them itself, so a plain loop over the ASGI messages does
the same work without any of it. Channels' WebsocketCommunicator drives it as any ASGI app.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from feed import selectors
from ops import metrics
from ops.middleware import WORKER_ID
from ops.resume_queries import counts_resume_queries
from realtime import events, streams
from realtime.client_messages import ProtocolError, parse_frame, parse_post_ids, parse_resume
from realtime.connection import Connection
from realtime.events import FEED_GROUP, LEADERBOARD_GROUP, POST_GROUP_PREFIX, post_group
from realtime.runtime import Runtime, get_runtime
from realtime.token_bucket import TokenBucket
from realtime.uvicorn_direct import AsgiSend

AsgiReceive = Callable[[], Awaitable[dict[str, Any]]]
AsgiApp = Callable[[dict[str, Any], AsgiReceive, AsgiSend], Awaitable[None]]

logger = logging.getLogger(__name__)

# Close codes (4000-4999 are the application's own); the hub closes with its own two,
# realtime.connection.CLOSE_TOO_SLOW (4009) and CLOSE_STREAMS_RESET (4010).
CLOSE_FLOODING = 4008
# Events per frame when a resume replays what a client missed.
REPLAY_EVENTS_PER_FRAME = 200


class SocketSession:
    """One /ws/ socket, from the handshake to the disconnect."""

    runtime: Runtime
    connection: Connection

    @classmethod
    def as_asgi(cls) -> AsgiApp:
        """The ASGI application that runs a session for each socket."""

        async def app(scope: dict[str, Any], receive: AsgiReceive, send: AsgiSend) -> None:
            await cls(scope, send).run(receive)

        return app

    def __init__(self, scope: dict[str, Any], send: AsgiSend) -> None:
        self.scope = scope
        # The server's own send: the hub writes broadcasts through it (or around it).
        self._send = send
        self._closing = False

    async def run(self, receive: AsgiReceive) -> None:
        """Handle the socket's ASGI messages in order until it disconnects."""
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "websocket.receive":
                await self.receive(message.get("text"), message.get("bytes"))
            elif kind == "websocket.connect":
                await self.connect()
            elif kind == "websocket.disconnect":
                self.disconnect(message.get("code", 1005))
                return

    async def connect(self) -> None:
        self.runtime = await get_runtime()
        self._inbound = TokenBucket(rate=settings.REALTIME["INBOUND_RATE"], burst=settings.REALTIME["INBOUND_BURST"])
        self.connection = Connection(self._send, close=self.close, label=str(self.scope.get("client")))
        # Names the worker in the handshake answer, as X-Served-By does for HTTP.
        await self._send({"type": "websocket.accept", "headers": [(b"x-served-by", WORKER_ID.encode())]})
        user = self.scope.get("user")
        hello_user = {"id": user.pk, "username": user.username} if user is not None and user.is_authenticated else None
        hub = self.runtime.hub
        try:
            # Join first, then take the positions: every event after them reaches the socket.
            # Broadcasts that come meanwhile wait until hello and the leaderboard are out.
            hub.hold(self.connection)
            hub.join(self.connection, FEED_GROUP, LEADERBOARD_GROUP)
            try:
                epoch, feed_seq = await hub.positions_for_new_socket()
            except Exception:  # noqa: BLE001 - Redis down: no positions; a resume will resync
                logger.warning("stream positions unavailable for a new socket", exc_info=True)
                epoch, feed_seq = "", None
            await self.send(events.hello(hello_user, epoch=epoch, feed_seq=feed_seq))
            await self.send(hub.leaderboard_text or await self._leaderboard_from_database())
            await hub.release(self.connection)
        except BaseException:
            # The peer vanished mid-handshake (or the task was cancelled). The session ends
            # with the error, no disconnect() follows, so leave the hub's groups here or stay
            # in them forever.
            hub.leave_all(self.connection)
            raise
        metrics.OPEN_SOCKETS.inc()
        logger.info(
            "socket connected", extra={"user_id": hello_user and hello_user["id"], "client": self.connection.label}
        )

    def disconnect(self, code: int) -> None:
        connection = getattr(self, "connection", None)
        if connection is None:
            return  # the handshake never began
        self.runtime.hub.leave_all(connection)
        metrics.OPEN_SOCKETS.dec()
        logger.info("socket disconnected", extra={"code": code, "client": connection.label})

    async def send(self, text: str) -> None:
        await self._send({"type": "websocket.send", "text": text})

    async def close(self, code: int) -> None:
        """Close once: a flooder's frames keep coming after the close, and a second close
        raises in the server, which would skip this socket's cleanup in disconnect()."""
        if self._closing:
            return
        self._closing = True
        await self._send({"type": "websocket.close", "code": code})

    async def receive(self, text_data: str | None, bytes_data: bytes | None) -> None:
        if self._closing:
            return
        if not self._inbound.take():
            metrics.SOCKETS_CLOSED_FLOODING.inc()
            await self.close(CLOSE_FLOODING)
            return
        try:
            message = parse_frame(text_data, bytes_data)
            handler = self._handlers.get(message["type"])
            if handler is None:
                raise ProtocolError("unknown_type", f"Unknown message type {message['type']!r}.")
            await handler(self, message)
        except ProtocolError as exc:
            await self.send(events.error(exc.code, exc.detail))

    # -- inbound message types ---------------------------------------------------------

    async def subscribe(self, message: dict[str, Any]) -> None:
        post_ids = parse_post_ids(message)
        # The hub's groups are the one record of what this socket follows.
        groups = self.connection.groups
        new_groups = [post_group(i) for i in post_ids if post_group(i) not in groups]
        followed = sum(1 for group in groups if group.startswith(POST_GROUP_PREFIX))
        limit = settings.REALTIME["MAX_FOLLOWED_POSTS"]
        if followed + len(new_groups) > limit:
            raise ProtocolError("too_many_follows", f"A socket follows at most {limit} posts; unsubscribe some first.")
        # Join before reading the snapshot: an event committed in between then arrives too,
        # and its version tells the client which count is newer.
        self.runtime.hub.join(self.connection, *new_groups)
        snapshot = await self.runtime.snapshots.read(post_ids)
        await self.send(events.subscribed(self.runtime.presence.with_viewers(snapshot)))

    async def unsubscribe(self, message: dict[str, Any]) -> None:
        post_ids = parse_post_ids(message)
        self.runtime.hub.leave(self.connection, *map(post_group, post_ids))
        await self.send(events.unsubscribed(post_ids))

    async def ping(self, message: dict[str, Any]) -> None:
        await self.send(events.pong())

    @counts_resume_queries
    async def resume(self, message: dict[str, Any]) -> None:
        """Replay what the client missed from the stream backlogs; no database read."""
        epoch, positions = parse_resume(message)
        known = {name: seq for name, seq in positions.items() if streams.is_known(name)}
        resync = [name for name in positions if name not in known]
        hub = self.runtime.hub
        # Live events of these streams wait until the replay is out, so none overtakes it.
        hub.hold(self.connection)
        try:
            recovered: dict[str, list[tuple[int, str]]] = {}
            if known:
                try:
                    backlog = await streams.get_log().aread_since(known)
                except Exception:  # noqa: BLE001 - Redis down: nothing can be recovered now
                    logger.warning("resume could not read the backlog", exc_info=True)
                    backlog = None
                if backlog is not None and backlog.epoch == epoch:
                    recovered = backlog.recovered
                resync += [name for name in known if name not in recovered]
            metrics.RESUMES.labels("recovered").inc(len(recovered))
            metrics.RESUMES.labels("resync").inc(len(resync))
            await self.send(events.resumed(recovered=list(recovered), resync=resync))
            missed = [text for replay in recovered.values() for _, text in replay]
            for start in range(0, len(missed), REPLAY_EVENTS_PER_FRAME):
                await self.send(events.batch(missed[start : start + REPLAY_EVENTS_PER_FRAME]))
        finally:
            await hub.release(self.connection)

    _handlers: dict[str, Callable[["SocketSession", dict[str, Any]], Awaitable[None]]] = {
        "subscribe": subscribe,
        "unsubscribe": unsubscribe,
        "ping": ping,
        "resume": resume,
    }

    # -- helpers --------------------------------------------------------------------------

    async def _leaderboard_from_database(self) -> str:
        # The hub's position, taken before the read: a later change reaches the socket as an event.
        seq = self.runtime.hub.position(LEADERBOARD_GROUP) or 0
        entries = await database_sync_to_async(selectors.leaderboard_top)()
        payload = events.leaderboard_payload(window_hours=settings.KARMA["WINDOW_HOURS"], entries=entries)
        text = events.stamp(events.encode(payload), LEADERBOARD_GROUP, seq)
        # Until this worker sees its first leaderboard event, later sockets reuse this read;
        # a change is always pushed, so the cache cannot outlive the truth it holds.
        hub = self.runtime.hub
        if hub.leaderboard_text is None:
            hub.leaderboard_text = text
        return text
