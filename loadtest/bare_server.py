"""The bare limit: a plain `websockets` server, no Django, broadcasting feed-shaped frames.

It speaks just enough of the KarmaFeed protocol for the load client (hello, subscribe,
ping) and broadcasts `post.likes` events, stamped with `ts` and a growing `version`, to
every socket. SIGUSR1 starts broadcasting, SIGUSR2 stops it and writes the final counts
(the "database" the client's convergence check compares with) to --state-out.

    python -m loadtest.bare_server --port 8100 --ticks-per-second 10 --events-per-frame 20
    (--ticks-per-second 0: as fast as the server can, held back only by full socket buffers)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Any

import orjson
import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve

# Flooding pauses while any socket holds more unsent bytes than this.
FLOOD_BUFFER_LIMIT = 256 * 1024


def encode(payload: dict[str, Any]) -> str:
    return orjson.dumps(payload).decode()


class BareFeed:
    def __init__(self, *, post_ids: list[int], ticks_per_second: float, events_per_frame: int) -> None:
        self.post_ids = post_ids
        self.ticks_per_second = ticks_per_second
        self.events_per_frame = events_per_frame
        self.versions = dict.fromkeys(post_ids, 0)
        self.connections: set[ServerConnection] = set()
        self.broadcasting = asyncio.Event()
        self.stopped = asyncio.Event()
        self.next_post = 0
        self.frames_broadcast = 0

    async def handle(self, connection: ServerConnection) -> None:
        await connection.send(encode({"type": "hello", "user": None}))
        self.connections.add(connection)
        try:
            async for raw in connection:
                message = orjson.loads(raw)
                if message.get("type") == "subscribe":
                    posts = [
                        {
                            "id": i,
                            "like_count": self.versions.get(i, 0),
                            "comment_count": 0,
                            "version": self.versions.get(i, 0),
                        }
                        for i in message["post_ids"]
                    ]
                    await connection.send(encode({"type": "subscribed", "posts": posts}))
                elif message.get("type") == "ping":
                    await connection.send(encode({"type": "pong"}))
        finally:
            self.connections.discard(connection)

    def next_frame(self) -> str:
        events = []
        now = round(time.time(), 6)
        for _ in range(self.events_per_frame):
            post_id = self.post_ids[self.next_post % len(self.post_ids)]
            self.next_post += 1
            self.versions[post_id] += 1
            version = self.versions[post_id]
            events.append(
                encode({"type": "post.likes", "post_id": post_id, "like_count": version, "version": version, "ts": now})
            )
        if len(events) == 1:
            return events[0]
        return '{"type":"batch","events":[' + ",".join(events) + "]}"

    async def broadcast_forever(self) -> None:
        await self.broadcasting.wait()
        interval = 1.0 / self.ticks_per_second if self.ticks_per_second > 0 else 0.0
        next_tick = time.monotonic()
        while not self.stopped.is_set():
            broadcast(self.connections, self.next_frame())
            self.frames_broadcast += len(self.connections)
            if interval:
                next_tick += interval
                await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
            else:
                await self.wait_for_buffers()

    async def wait_for_buffers(self) -> None:
        await asyncio.sleep(0)
        while any(c.transport.get_write_buffer_size() > FLOOD_BUFFER_LIMIT for c in self.connections):
            await asyncio.sleep(0.001)


async def serve_until_stopped(args: argparse.Namespace) -> None:
    feed = BareFeed(
        post_ids=[int(i) for i in args.post_ids.split(",")],
        ticks_per_second=args.ticks_per_second,
        events_per_frame=args.events_per_frame,
    )
    loop = asyncio.get_running_loop()
    finished = asyncio.Event()

    def stop_broadcasting() -> None:
        feed.stopped.set()
        Path(args.state_out).write_text(
            json.dumps(
                {
                    "posts": {str(i): [v, v, 0] for i, v in feed.versions.items()},
                    "frames_broadcast": feed.frames_broadcast,
                }
            )
        )

    loop.add_signal_handler(signal.SIGUSR1, feed.broadcasting.set)
    loop.add_signal_handler(signal.SIGUSR2, stop_broadcasting)
    loop.add_signal_handler(signal.SIGTERM, finished.set)
    loop.add_signal_handler(signal.SIGINT, finished.set)
    # No per-socket keepalive pings and no compression: the cheapest broadcast it can do.
    async with serve(
        feed.handle, "127.0.0.1", args.port, ping_interval=None, compression=None, max_queue=64, backlog=4096
    ):
        broadcaster = asyncio.create_task(feed.broadcast_forever())
        await finished.wait()
        broadcaster.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--post-ids", default=",".join(str(i) for i in range(1, 21)))
    parser.add_argument("--ticks-per-second", type=float, default=10.0, help="frames per socket per second; 0: flood")
    parser.add_argument("--events-per-frame", type=int, default=1)
    parser.add_argument("--state-out", type=Path, required=True)
    uvloop.run(serve_until_stopped(parser.parse_args()))


if __name__ == "__main__":
    main()
