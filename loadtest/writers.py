"""The writers: likes, unlikes and comments through REST at a set rate (open loop).

Run by the orchestrator as `python -m loadtest.writers CONFIG.json`. Each logged-in user
(a session from `manage.py create_sessions`) does one request at a time, so it always knows
whether it likes a post; a write due while every user is busy is counted as `skipped`,
which is how a server that cannot keep up shows here. Likes and unlikes go round-robin to
the like targets (the like workers, as nginx sends them in production), comments to the
comment targets (the REST servers). Prints a JSON status line a second, writes its result file at the end.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

# The scheduler wakes this often and sends what fell due meanwhile.
TICK_SECONDS = 0.005
# The servers start with the run: their database pools, user rows, sessions and prepared
# statements fill in the first requests, and the queue that builds meanwhile drains after.
# Long-lived workers are past that, so the likes sent after it are also summarized apart.
WARM_UP_SECONDS = 5.0


@dataclass
class Writer:
    sessionid: str
    csrftoken: str
    user_id: int
    liked: set[int] = field(default_factory=set)


@dataclass
class Record:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"like": [], "unlike": [], "comment": []})
    # Each answered like or unlike: (seconds after the writes began that it was sent, latency).
    like_trace: list[tuple[float, float]] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    writes_per_post: Counter[int] = field(default_factory=Counter)
    skipped: int = 0
    done: int = 0
    tick_done: int = 0
    tick_latency_max: float = 0.0


class Writers:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.targets: dict[str, list[str]] = {"like": config["like_targets"], "comment": config["comment_targets"]}
        self.next_target: Counter[str] = Counter()
        names = config["cookie_names"]
        self.session_cookie, self.csrf_cookie = names["session"], names["csrf"]
        self.idle: deque[Writer] = deque(
            Writer(s["sessionid"], s["csrftoken"], s["user_id"]) for s in config["sessions"]
        )
        self.post_ids: list[int] = config["post_ids"]
        # The leaderboard scenario: posts grouped by author; the favoured group rotates.
        self.author_groups: list[list[int]] = config.get("author_groups") or []
        self.rng = random.Random(config.get("seed", 2))
        self.record = Record()
        self.in_flight: set[asyncio.Task[None]] = set()
        self.started = 0.0

    def headers(self, writer: Writer, target: str) -> dict[str, str]:
        return {
            "Cookie": f"{self.session_cookie}={writer.sessionid}; {self.csrf_cookie}={writer.csrftoken}",
            "X-CSRFToken": writer.csrftoken,
            "Origin": target,
        }

    def target(self, kind: str) -> str:
        """The next server, round-robin, of those that take this kind of write."""
        road = "comment" if kind == "comment" else "like"
        targets = self.targets[road]
        self.next_target[road] += 1
        return targets[(self.next_target[road] - 1) % len(targets)]

    def pick_like(self, writer: Writer) -> tuple[str, int]:
        if not self.author_groups:
            post_id = self.rng.choice(self.post_ids)
            return ("unlike" if post_id in writer.liked else "like"), post_id
        # Likes go mostly to the favoured authors of the moment and unlikes to the others,
        # so the top 5 keeps changing hands.
        favoured = self.author_groups[int((time.perf_counter() - self.started) / 3) % len(self.author_groups)]
        candidates = [p for p in favoured if p not in writer.liked]
        if candidates and self.rng.random() < 0.7:
            return "like", self.rng.choice(candidates)
        others = [p for p in writer.liked if p not in favoured]
        if others:
            return "unlike", self.rng.choice(others)
        post_id = self.rng.choice(self.post_ids)
        return ("unlike" if post_id in writer.liked else "like"), post_id

    async def one(self, http: aiohttp.ClientSession, writer: Writer, kind: str, post_id: int) -> None:
        target = self.target(kind)
        headers = self.headers(writer, target)
        started = time.perf_counter()
        try:
            if kind == "comment":
                url = f"{target}/api/posts/{post_id}/comments/"
                body = {"content": f"Bench comment {self.record.done} from {writer.user_id}."}
                async with http.post(url, json=body, headers=headers) as answer:
                    await answer.read()
                    status = answer.status
            else:
                url = f"{target}/api/posts/{post_id}/like/"
                method = http.post if kind == "like" else http.delete
                async with method(url, headers=headers) as answer:
                    await answer.read()
                    status = answer.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            self.record.statuses[type(exc).__name__] += 1
        else:
            elapsed = time.perf_counter() - started
            self.record.statuses[str(status)] += 1
            if status in (200, 201):
                self.record.latencies[kind].append(elapsed)
                if kind != "comment":
                    self.record.like_trace.append((started - self.started, elapsed))
                self.record.writes_per_post[post_id] += 1
                if kind == "like":
                    writer.liked.add(post_id)
                elif kind == "unlike":
                    writer.liked.discard(post_id)
            self.record.tick_latency_max = max(self.record.tick_latency_max, elapsed)
        finally:
            self.record.done += 1
            self.record.tick_done += 1
            self.idle.append(writer)

    def launch(self, http: aiohttp.ClientSession, kind: str) -> None:
        if not self.idle:
            self.record.skipped += 1
            return
        writer = self.idle.popleft()
        if kind == "comment":
            action, post_id = "comment", self.rng.choice(self.post_ids)
        else:
            action, post_id = self.pick_like(writer)
        task = asyncio.get_running_loop().create_task(self.one(http, writer, action, post_id))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)

    async def status_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            r = self.record
            print(
                json.dumps(
                    {"kind": "tick", "done": r.tick_done, "latency_max": r.tick_latency_max, "skipped": r.skipped}
                ),
                flush=True,
            )
            r.tick_done = 0
            r.tick_latency_max = 0.0

    async def run(self) -> None:
        duration = float(self.config["duration"])
        like_rate = float(self.config["like_rate"])
        comment_rate = float(self.config["comment_rate"])
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, force_close=False)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
        ) as http:
            status = asyncio.create_task(self.status_forever())
            self.started = time.perf_counter()
            likes_sent = comments_sent = 0
            while (elapsed := time.perf_counter() - self.started) < duration:
                while likes_sent < like_rate * elapsed:
                    self.launch(http, "like")
                    likes_sent += 1
                while comments_sent < comment_rate * elapsed:
                    self.launch(http, "comment")
                    comments_sent += 1
                await asyncio.sleep(TICK_SECONDS)
            issued_for = time.perf_counter() - self.started
            if self.in_flight:
                await asyncio.wait(self.in_flight, timeout=30)
            status.cancel()
        self.write_result(issued_for)

    def write_result(self, issued_for: float) -> None:
        r = self.record
        latencies = {kind: summarize(values) for kind, values in r.latencies.items()}
        all_likes = sorted(r.latencies["like"] + r.latencies["unlike"])
        result = {
            "seconds": issued_for,
            "requests": r.done,
            "skipped": r.skipped,
            "statuses": dict(r.statuses),
            "likes_ok": len(all_likes),
            "comments_ok": len(r.latencies["comment"]),
            "like_rate_achieved": len(all_likes) / issued_for if issued_for else 0.0,
            "latency": latencies,
            "like_latency": summarize(all_likes),
            "like_latency_warm": summarize([latency for sent, latency in r.like_trace if sent >= WARM_UP_SECONDS]),
            "like_latency_by_second": latency_by_second(r.like_trace),
            "writes": {str(k): v for k, v in r.writes_per_post.items()},
        }
        Path(self.config["result_path"]).write_text(json.dumps(result))


def summarize(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"count": len(ordered), "p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1]}


def latency_by_second(trace: list[tuple[float, float]]) -> list[dict[str, float]]:
    """The likes' latencies summarized per second of sending, in order (seconds with none left out)."""
    seconds: dict[int, list[float]] = {}
    for sent, latency in trace:
        seconds.setdefault(int(sent), []).append(latency)
    return [{"second": second, **summarize(seconds[second])} for second in sorted(seconds)]


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    uvloop.run(Writers(config).run())


if __name__ == "__main__":
    main()
