"""What a delivery round costs the hub itself, per socket, without the sockets' own writes.

    backend/.venv/bin/python -m loadtest.hub_rounds [--sockets 10000] [--rounds 200]

Run from the repository root; nothing else needs to be up (the app's embedded settings, the
in-memory channel layer). It joins `--sockets` sockets to one hub, each following the feed,
the leaderboard and 20 posts as the bench's `hot` scenario does, and runs `--rounds` delivery
rounds of 20 like counts each. The sockets' sends do nothing, so what is timed is the hub's
routing, framing and bookkeeping per socket (the bench measures the writes: `server CPU per
frame`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from typing import Any

from loadtest import stack

POSTS = 20
EVENTS_PER_ROUND = 20


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtest.hub_rounds", description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(stack.BACKEND_DIR))
    import django

    django.setup()
    seconds = asyncio.run(_rounds(args.sockets, args.rounds))
    median = statistics.median(seconds)
    print(
        f"{args.sockets} sockets, {args.rounds} rounds of {EVENTS_PER_ROUND} events: "
        f"a round {1000 * median:.2f} ms (median), {1e6 * median / args.sockets:.3f} µs a socket"
    )


async def _rounds(sockets: int, rounds: int) -> list[float]:
    from channels.layers import get_channel_layer

    from realtime import events
    from realtime.connection import Connection
    from realtime.events import FEED_GROUP, LEADERBOARD_GROUP, NumberedEvent
    from realtime.hub import Hub
    from realtime.streams_memory import MemoryStreamLog

    layer = get_channel_layer()
    assert layer is not None
    hub = Hub(layer, MemoryStreamLog(backlog=100, idle_expiry=3600), flush_interval=0.0, buffer_limit=1 << 20)

    async def take(message: dict[str, Any]) -> None:
        pass

    async def close(code: int) -> None:
        pass

    posts = [f"post.{i}" for i in range(POSTS)]
    for _ in range(sockets):
        hub.join(Connection(take, close=close), FEED_GROUP, LEADERBOARD_GROUP, *posts)
    seconds: list[float] = []
    version = 0
    for _ in range(rounds):
        for post_id in range(EVENTS_PER_ROUND):
            version += 1
            event = events.post_likes(post_id=post_id % POSTS, like_count=version, version=version)
            hub.enqueue(NumberedEvent(event.group, 0, event.text))
        began = time.perf_counter()
        await hub.deliver_round()
        seconds.append(time.perf_counter() - began)
    return seconds


if __name__ == "__main__":
    main()
