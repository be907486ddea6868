"""Measure a KarmaFeed deployment that is already running, as its clients see it.

python -m loadtest --target https://feed.example.com --sessions sessions.json --sockets 500

Nothing is started or stopped here: the tool opens sockets that follow the newest posts,
likes and unlikes them over REST with sessions made by `manage.py create_sessions` on the
target, and reports what a client can see: connects, delivery latency (from each event's
`ts`, so the two clocks must agree), write latency, and whether every socket ends equal to a
fresh read of the API. Server figures come from `/metrics` where the deployment lets this
client read it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from loadtest.client import FrameBook, fold, percentiles_of

# The counters and gauges worth a difference over the run, when /metrics answers.
METRICS = (
    "karmafeed_open_sockets",
    "karmafeed_events_pushed_total",
    "karmafeed_events_delivered_total",
    "karmafeed_frames_sent_total",
    "karmafeed_push_failures_total",
)
QUIET_SECONDS = 2.0


def target_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m loadtest --target", description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, help="the deployment's base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--sessions", type=Path, required=True, help="JSON written by manage.py create_sessions there")
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--posts", type=int, default=5, help="how many of the newest posts the sockets follow")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of writes")
    parser.add_argument("--like-rate", type=float, default=20.0, help="likes and unlikes per second, in all")
    parser.add_argument("--connect-concurrency", type=int, default=100)
    parser.add_argument("--out", type=Path, help="where figures.json goes (default: only printed)")
    return parser


@dataclass
class Socket:
    sequence: list[int] = field(default_factory=list)
    last_frame_at: float = 0.0


@dataclass
class Run:
    book: FrameBook = field(default_factory=FrameBook)
    sockets: list[Socket] = field(default_factory=list)
    connect_seconds: list[float] = field(default_factory=list)
    connect_failures: int = 0
    delivery_seconds: list[float] = field(default_factory=list)
    write_seconds: list[float] = field(default_factory=list)
    write_statuses: dict[str, int] = field(default_factory=dict)


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text to {name: value}, summing the samples of one name over their labels."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{.*\})? (\S+)(?: \d+)?", line)
        if match and not line.startswith("#"):
            found[match.group(1)] = found.get(match.group(1), 0.0) + float(match.group(2))
    return found


def bucket_counts(text: str, name: str) -> dict[float, float]:
    """A Prometheus histogram's cumulative bucket counts, {upper bound: count}, summed over its
    other labels (+Inf is float("inf"))."""
    found: dict[float, float] = {}
    for line in text.splitlines():
        match = re.fullmatch(rf'{name}_bucket\{{(?:.*,)?le="([^"]+)"(?:,.*)?\}} (\S+)(?: \d+)?', line)
        if match:
            bound = float(match.group(1))
            found[bound] = found.get(bound, 0.0) + float(match.group(2))
    return found


def bucket_quantile(buckets: dict[float, float], q: float) -> float | None:
    """The upper bound of the bucket holding the q-quantile; None without observations, or
    when it lies beyond the largest finite bound."""
    total = buckets.get(float("inf"), 0.0)
    if not total:
        return None
    for bound in sorted(buckets):
        if buckets[bound] >= q * total:
            return None if bound == float("inf") else bound
    return None


def unequal_sockets(run: Run, truth: dict[int, int]) -> tuple[int, list[str]]:
    """Sockets whose final like counts differ from the API's, and a few examples."""
    wrong = 0
    examples: list[str] = []
    for index, socket in enumerate(run.sockets):
        shows = {post_id: state[0] for post_id, state in fold(run.book, socket.sequence).posts.items()}
        if shows != truth:
            wrong += 1
            if len(examples) < 3:
                examples.append(f"socket {index} shows {shows}, the API {truth}")
    return wrong, examples


async def read_metrics(http: aiohttp.ClientSession, base: str) -> dict[str, float] | None:
    try:
        async with http.get(f"{base}/metrics") as answer:
            if answer.status != 200:
                return None
            return parse_metrics(await answer.text())
    except aiohttp.ClientError:
        return None


async def follow(http: aiohttp.ClientSession, ws_url: str, origin: str, post_ids: list[int], run: Run) -> None:
    """One socket: connect, subscribe, then record every frame until cancelled."""
    started = time.monotonic()
    try:
        ws = await http.ws_connect(ws_url, origin=origin, heartbeat=None)
    except (aiohttp.ClientError, TimeoutError):
        run.connect_failures += 1
        return
    socket = Socket()
    run.sockets.append(socket)
    try:
        await ws.send_str(json.dumps({"type": "subscribe", "post_ids": post_ids}))
        subscribed = False
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            now = time.time()
            info = run.book.lookup(message.data.encode())
            socket.sequence.append(info.frame_id)
            socket.last_frame_at = time.monotonic()
            if not subscribed and any(e.get("type") == "subscribed" for e in info.events):
                subscribed = True
                run.connect_seconds.append(time.monotonic() - started)
            elif info.oldest_ts is not None:
                run.delivery_seconds.append(now - info.oldest_ts)
    finally:
        await ws.close()


async def write(
    base: str, session: dict[str, Any], names: dict[str, str], plan: tuple[list[int], float, float], run: Run
) -> None:
    """One writer: like or unlike a followed post at random, one request every `interval` seconds."""
    post_ids, interval, until = plan
    csrf = session["csrftoken"]
    async with aiohttp.ClientSession(
        base_url=base, cookies={names["session"]: session["sessionid"], names["csrf"]: csrf}
    ) as http:
        headers = {"X-CSRFToken": csrf, "Referer": f"{base}/", "Origin": base}
        liked: set[int] = set()
        while time.monotonic() < until:
            post_id = random.choice(post_ids)
            method = "DELETE" if post_id in liked else "POST"
            started = time.monotonic()
            async with http.request(method, f"/api/posts/{post_id}/like/", headers=headers) as answer:
                await answer.read()
            run.write_seconds.append(time.monotonic() - started)
            run.write_statuses[str(answer.status)] = run.write_statuses.get(str(answer.status), 0) + 1
            if answer.status == 200:
                liked ^= {post_id}
            await asyncio.sleep(max(0.0, started + interval - time.monotonic()))


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    base = args.target.rstrip("/")
    ws_url = re.sub(r"^http", "ws", base) + "/ws/"
    sessions_file = json.loads(args.sessions.read_text())
    names, sessions = sessions_file["cookie_names"], sessions_file["sessions"]
    run = Run()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        async with http.get(f"{base}/api/posts/", params={"page_size": str(args.posts)}) as answer:
            answer.raise_for_status()
            post_ids = [post["id"] for post in (await answer.json())["results"]]
        if not post_ids:
            raise SystemExit("the target has no posts to follow; create some first")
        metrics_before = await read_metrics(http, base)
        gate = asyncio.Semaphore(args.connect_concurrency)

        async def open_one() -> None:
            async with gate:
                await follow(http, ws_url, base, post_ids, run)

        connect_started = time.monotonic()
        followers = [asyncio.create_task(open_one()) for _ in range(args.sockets)]
        while len(run.connect_seconds) + run.connect_failures < args.sockets:
            await asyncio.sleep(0.1)
        connected_in = time.monotonic() - connect_started

        # One writer per like a second, so a slow answer delays only its own writer.
        writers = sessions[: max(1, min(len(sessions), int(args.like_rate)))]
        interval = len(writers) / args.like_rate
        until = time.monotonic() + args.duration
        await asyncio.gather(*(write(base, s, names, (post_ids, interval, until), run) for s in writers))
        quiet_deadline = time.monotonic() + 30
        while time.monotonic() < quiet_deadline and any(
            time.monotonic() - s.last_frame_at < QUIET_SECONDS for s in run.sockets
        ):
            await asyncio.sleep(0.2)
        truth = {}
        for post_id in post_ids:
            async with http.get(f"{base}/api/posts/{post_id}/") as answer:
                truth[post_id] = (await answer.json())["like_count"]
        metrics_after = await read_metrics(http, base)
        for task in followers:
            task.cancel()
        await asyncio.gather(*followers, return_exceptions=True)
    wrong, examples = unequal_sockets(run, truth)
    return {
        "target": base,
        "sockets": {"asked": args.sockets, "open": len(run.sockets), "failures": run.connect_failures},
        "connect": {"all_in_seconds": connected_in, **percentiles_of(sorted(run.connect_seconds))},
        "delivery_seconds": percentiles_of(sorted(run.delivery_seconds)),
        "writes": {"statuses": run.write_statuses, **percentiles_of(sorted(run.write_seconds))},
        "convergence": {"sockets_unequal_to_the_api": wrong, "examples": examples},
        "server_metrics": (
            {name: metrics_after.get(name, 0.0) - metrics_before.get(name, 0.0) for name in METRICS}
            if metrics_before is not None and metrics_after is not None
            else "not readable from this client"
        ),
    }


def main(argv: list[str]) -> None:
    args = target_parser().parse_args(argv)
    figures = asyncio.run(measure(args))
    text = json.dumps(figures, indent=1)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "figures.json").write_text(text)
