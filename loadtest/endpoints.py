"""The REST endpoints one at a time: reads (feed page, a 1,000-comment thread, a profile, the
leaderboard) and creates (posts, comments), each at a set rate for a few seconds (open loop).

Run by the orchestrator as `python -m loadtest.endpoints CONFIG.json`. Each endpoint goes to
the pool of servers nginx sends it to (`targets`: the feed page to the like workers, whose event
loop answers it; the rest to the REST servers). Each logged-in user does one request at a
time; a request due while every user is busy is counted as skipped.
The comment creates go to one post, which so becomes the long thread the thread read asks
for. Writes each endpoint's window (start, end), answers and latencies to its result file;
the orchestrator puts the servers' CPU over each window beside them.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

from loadtest.writers import summarize

TICK_SECONDS = 0.005


def plan(config: dict[str, Any]) -> list[dict[str, Any]]:
    thread_post = config["thread_post_id"]
    return [
        {"name": "create post", "method": "POST", "path": "/api/posts/", "body": True},
        {"name": "create comment", "method": "POST", "path": f"/api/posts/{thread_post}/comments/", "body": True},
        {"name": "feed page (20 posts)", "method": "GET", "path": "/api/posts/?page_size=20", "pool": "likes"},
        {
            "name": "thread",
            "method": "GET",
            "path": f"/api/posts/{thread_post}/",
        },
        {"name": "profile", "method": "GET", "path": f"/api/users/{config['profile_username']}/"},
        {"name": "leaderboard", "method": "GET", "path": "/api/leaderboard/"},
    ]


async def drive(http: aiohttp.ClientSession, config: dict[str, Any], step: dict[str, Any]) -> dict[str, Any]:
    pool = step.get("pool", "api")
    target = config["targets"][pool]
    names = config["cookie_names"]
    idle = deque(config["sessions"])
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    skipped = 0
    in_flight: set[asyncio.Task[None]] = set()
    rate = float(config["rate"])
    # The comment creates make the long thread: all of them, however long they take.
    makes_thread = step["name"] == "create comment"
    count = config["thread_comments"] if makes_thread else int(rate * config["duration"])

    async def one(session: dict[str, Any], n: int) -> None:
        headers = {
            "Cookie": f"{names['session']}={session['sessionid']}; {names['csrf']}={session['csrftoken']}",
            "X-CSRFToken": session["csrftoken"],
            "Origin": target,
        }
        body = {"content": f"Bench {step['name']} {n}."} if step.get("body") else None
        started = time.perf_counter()
        try:
            async with http.request(step["method"], target + step["path"], json=body, headers=headers) as answer:
                await answer.read()
                statuses[str(answer.status)] += 1
                if answer.status < 300:
                    latencies.append(time.perf_counter() - started)
        except (TimeoutError, aiohttp.ClientError) as exc:
            statuses[type(exc).__name__] += 1
        finally:
            idle.append(session)

    began = time.monotonic()
    window_start = time.time()
    sent = 0
    while sent < count:
        due = min(count, int(rate * (time.monotonic() - began)) + 1)
        while sent < due:
            if not idle and makes_thread:
                break
            sent += 1
            if not idle:
                skipped += 1
                continue
            task = asyncio.get_running_loop().create_task(one(idle.popleft(), sent))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        await asyncio.sleep(TICK_SECONDS)
    if in_flight:
        await asyncio.wait(in_flight, timeout=30)
    seconds = time.monotonic() - began
    return {
        "name": step["name"],
        "pool": pool,
        "window": [window_start, time.time()],
        "asked": count,
        "answered": len(latencies),
        "skipped": skipped,
        "statuses": dict(statuses),
        "requests_per_second": len(latencies) / seconds if seconds else 0.0,
        "latency": summarize(latencies),
    }


async def run(config: dict[str, Any]) -> list[dict[str, Any]]:
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=30)
    results = []
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) as http:
        for step in plan(config):
            result = await drive(http, config, step)
            if step["name"] == "create comment":
                config["thread_comments_made"] = result["answered"]
            if step["name"] == "thread":
                # The comments made just before, and the few the seed put there.
                result["name"] = f"thread ({config.get('thread_comments_made', 0):,}+ comments)"
            results.append(result)
            print(json.dumps({"kind": "warning", "message": f"{step['name']}: done"}), flush=True)
            await asyncio.sleep(0.5)
    return results


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    results = uvloop.run(run(config))
    Path(config["result_path"]).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
