"""The load client: K websockets in one process (uvloop + picows), measured.

Run by the orchestrator as `python -m loadtest.client CONFIG.json`. It opens the sockets,
subscribes each to its posts, prints one JSON status line a second on stdout, and on the
stdin command `finish TRUTH.json` checks every open socket against the database's final
state and writes its result file.

Per frame the client does as little as it can, so that it measures the server and not
itself: sockets that follow the same posts receive byte-identical frames, so each distinct
frame is parsed once and every socket only appends the frame's id to its own sequence.
At the end each socket's sequence is folded into its final counts (once per distinct
sequence), which is what the convergence check compares with the database.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

# Latency histogram: 0.1 ms bins up to a minute; anything slower lands in the last bin.
BIN_SECONDS = 0.0001
BINS = 600_000


@dataclass(slots=True)
class FrameInfo:
    """One distinct frame: its events, parsed once, and when the last socket got it."""

    frame_id: int
    events: list[dict[str, Any]]
    oldest_ts: float | None
    stamped_events: int
    last_received: float = 0.0
    # Computed on first use by stream_summary(): (hello's epoch and feed_seq, highest seq per stream).
    summary: tuple[tuple[str | None, int | None] | None, dict[str, int]] | None = None


@dataclass
class Totals:
    frames: int = 0
    events: int = 0
    connects: int = 0
    connect_failures: int = 0
    disconnects: int = 0
    latency_bins: list[int] = field(default_factory=lambda: [0] * (BINS + 1))
    # This second's figures, reset by the status line.
    tick_frames: int = 0
    tick_events: int = 0
    tick_latency_max: float = 0.0
    tick_latency_sum: float = 0.0


class FrameBook:
    """Distinct frames by their bytes."""

    def __init__(self) -> None:
        self.by_payload: dict[bytes, FrameInfo] = {}
        self.by_id: list[FrameInfo] = []

    def lookup(self, payload: bytes) -> FrameInfo:
        info = self.by_payload.get(payload)
        if info is not None:
            return info
        message = orjson.loads(payload)
        events = message["events"] if message.get("type") == "batch" else [message]
        stamps = [e["ts"] for e in events if "ts" in e]
        info = FrameInfo(len(self.by_id), events, min(stamps) if stamps else None, len(stamps))
        self.by_payload[payload] = info
        self.by_id.append(info)
        return info


# A socket's place in the streams: the epoch of its hello and the last seq per stream.
Positions = tuple[str | None, dict[str, int]]


class Follower(WSListener):
    """One socket; the hot path is on_ws_frame."""

    def __init__(self, client: LoadClient, follows: list[int], resume_from: Positions | None = None) -> None:
        self.client = client
        self.follows = follows
        # Set on a socket that replaces a dropped one: it resumes from there before subscribing.
        self.resume_from = resume_from
        self.sequence: list[int] = []
        self.transport: WSTransport | None = None
        self.started = time.time()
        self.hello_at: float | None = None
        self.ready = asyncio.get_running_loop().create_future()
        self.closing = False
        self.closed = False
        self.before_writes = False
        self.tracker = PositionTracker(resume_from)

    def positions(self) -> Positions:
        return self.tracker.update(self.client.book, self.sequence)

    def streams(self) -> list[str]:
        """Every stream this socket is in: the feed and the leaderboard, and its posts'."""
        return ["feed", "leaderboard", *(f"post.{post_id}" for post_id in self.follows)]

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        if self.resume_from is not None and self.resume_from[0] is not None:
            epoch, positions = self.resume_from
            transport.send(WSMsgType.TEXT, orjson.dumps({"type": "resume", "epoch": epoch, "positions": positions}))
        if self.follows:
            transport.send(WSMsgType.TEXT, orjson.dumps({"type": "subscribe", "post_ids": self.follows}))

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        now = time.time()
        client = self.client
        info = client.book.lookup(frame.get_payload_as_bytes())
        self.sequence.append(info.frame_id)
        info.last_received = now
        totals = client.totals
        totals.frames += 1
        totals.tick_frames += 1
        if info.oldest_ts is not None:
            # Every event of the frame is counted at its oldest event's delay: an upper bound.
            delay = now - info.oldest_ts
            totals.events += info.stamped_events
            totals.tick_events += info.stamped_events
            totals.latency_bins[min(BINS, max(0, int(delay / BIN_SECONDS)))] += info.stamped_events
            totals.tick_latency_sum += delay
            if delay > totals.tick_latency_max:
                totals.tick_latency_max = delay
        elif self.hello_at is None:
            self.hello_at = now
            if not self.follows and not self.ready.done():
                self.ready.set_result(None)
        if self.follows and not self.ready.done() and info.events[0].get("type") == "subscribed":
            self.ready.set_result(None)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.closed = True
        if not self.closing:
            self.client.totals.disconnects += 1
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed before it was ready"))


class Probe(WSListener):
    """A socket that reads the server's stream positions and leaves: hello's feed_seq, the
    leaderboard frame's seq, and each post's seq in the `subscribed` answer."""

    def __init__(self, book: FrameBook, follows: list[int]) -> None:
        self.book = book
        self.follows = follows
        self.sequence: list[int] = []
        self.waiting_for = {"hello", "leaderboard", *(["subscribed"] if follows else [])}
        self.done = asyncio.get_running_loop().create_future()

    def on_ws_connected(self, transport: WSTransport) -> None:
        if self.follows:
            transport.send(WSMsgType.TEXT, orjson.dumps({"type": "subscribe", "post_ids": self.follows}))

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        info = self.book.lookup(frame.get_payload_as_bytes())
        self.sequence.append(info.frame_id)
        self.waiting_for -= {event.get("type") for event in info.events}
        if not self.waiting_for and not self.done.done():
            self.done.set_result(None)
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.done.done():
            self.done.set_exception(ConnectionError("the probe socket closed before the server's positions"))


class LoadClient:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        # Sockets go round-robin to the workers: (websocket url, the Origin its host expects).
        self.targets: list[list[str]] = config.get("extra_urls") or [[config["url"], config["origin"]]]
        self.cookies: list[str] = config.get("cookies") or [""]
        self.follow_sets: list[list[int]] = config["follow_sets"] or [[]]
        self.rng = random.Random(config.get("seed", 1))
        self.book = FrameBook()
        self.totals = Totals()
        self.sockets: list[Follower] = []
        self.connect_seconds: list[float] = []
        self.gate = asyncio.Semaphore(config.get("connect_concurrency", 256))
        self.started = time.time()
        self.churn_seconds = 0.0
        # The server's positions once the sockets settled (set by `settle`); None if never asked.
        self.server_heads: Positions | None = None
        self.settled: dict[str, Any] = {}

    async def open_one(
        self, index: int, follows: list[int] | None = None, resume_from: Positions | None = None
    ) -> Follower | None:
        if follows is None:
            follows = self.follow_sets[self.rng.randrange(len(self.follow_sets))]
        url, origin = self.targets[index % len(self.targets)]
        cookie = self.cookies[index % len(self.cookies)]
        headers = {"Origin": origin, **({"Cookie": cookie} if cookie else {})}
        async with self.gate:
            started = time.time()
            try:
                _, listener = await ws_connect(
                    lambda: Follower(self, follows, resume_from),
                    url,
                    extra_headers=headers,
                    websocket_handshake_timeout=30,
                    enable_auto_pong=True,
                )
                assert isinstance(listener, Follower)
                await asyncio.wait_for(listener.ready, 60)
            except Exception as exc:  # noqa: BLE001 - counted and reported; the run goes on
                self.totals.connect_failures += 1
                if self.totals.connect_failures <= 5:
                    print(json.dumps({"kind": "warning", "message": f"connect failed: {exc!r}"}), flush=True)
                return None
        listener.started = started
        self.connect_seconds.append(time.time() - started)
        self.totals.connects += 1
        self.sockets.append(listener)
        return listener

    def open_count(self) -> int:
        return sum(1 for s in self.sockets if not s.closed)

    async def status_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            t = self.totals
            line = {
                "kind": "tick",
                "t": time.time(),
                "open": self.open_count(),
                "frames": t.tick_frames,
                "events": t.tick_events,
                "latency_max": t.tick_latency_max,
                "latency_mean": t.tick_latency_sum / t.tick_frames if t.tick_frames else 0.0,
                "connects": t.connects,
                "disconnects": t.disconnects,
                "connect_failures": t.connect_failures,
            }
            t.tick_frames = t.tick_events = 0
            t.tick_latency_max = t.tick_latency_sum = 0.0
            print(json.dumps(line), flush=True)

    async def churn_forever(self, per_second: int) -> None:
        """Drop `per_second` random sockets a second; each comes back as a new socket that
        follows the same posts and resumes from the dropped one's positions, as a browser does."""
        next_index = len(self.sockets)
        started = time.time()
        try:
            while True:
                await asyncio.sleep(1.0)
                live = [s for s in self.sockets if not s.closed and not s.closing]
                for victim in self.rng.sample(live, min(per_second, len(live))):
                    victim.closing = True
                    if victim.transport is not None:
                        victim.transport.disconnect()
                    positions = positions_of(self.book, victim.sequence, victim.resume_from)
                    asyncio.get_running_loop().create_task(self.open_one(next_index, victim.follows, positions))
                    next_index += 1
        finally:
            self.churn_seconds += time.time() - started

    async def run(self) -> None:
        count = self.config["sockets"]
        status = asyncio.create_task(self.status_forever())
        began = time.time()
        await asyncio.gather(*(self.open_one(i) for i in range(count)))
        connected_in = time.time() - began
        for s in self.sockets:
            s.before_writes = True
        print(
            json.dumps(
                {
                    "kind": "connected",
                    "sockets": self.open_count(),
                    "seconds": connected_in,
                    "failures": self.totals.connect_failures,
                }
            ),
            flush=True,
        )
        self.connected_in = connected_in
        churn = None
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = (await reader.readline()).decode().strip()
            if not line:
                break
            command, _, argument = line.partition(" ")
            if command == "churn" and churn is None:
                churn = asyncio.create_task(self.churn_forever(int(argument)))
            elif command == "stop-churn" and churn is not None:
                churn.cancel()
                churn = None
            elif command == "settle":
                self.settled = await self.settle(float(argument))
                print(json.dumps({"kind": "settled", **self.settled}), flush=True)
            elif command == "finish":
                if churn is not None:
                    churn.cancel()
                status.cancel()
                self.finish(Path(argument))
                break
        for s in self.sockets:
            s.closing = True
            if s.transport is not None and not s.closed:
                s.transport.disconnect()
        await asyncio.sleep(0.2)

    # -- the end of a run ---------------------------------------------------------------

    async def server_positions(self) -> Positions:
        """The server's position in every stream the open sockets are in, read by probe sockets."""
        follow_sets = {tuple(s.follows) for s in self.sockets if not s.closed and not s.closing}
        heads: dict[str, int] = {}
        epochs: set[str | None] = set()
        for index, follows in enumerate(sorted(follow_sets) or [()]):
            url, origin = self.targets[index % len(self.targets)]
            _, probe = await ws_connect(
                lambda follows=follows: Probe(self.book, list(follows)),
                url,
                extra_headers={"Origin": origin},
                websocket_handshake_timeout=30,
                enable_auto_pong=True,
            )
            assert isinstance(probe, Probe)
            await asyncio.wait_for(probe.done, 60)
            epoch, seqs = positions_of(self.book, probe.sequence)
            epochs.add(epoch)
            for stream, seq in seqs.items():
                heads[stream] = max(seq, heads.get(stream, -1))
        if len(epochs) != 1:
            raise RuntimeError(f"the probes saw several epochs: {sorted(map(str, epochs))}")
        return epochs.pop(), heads

    def sockets_behind(self, heads: Positions) -> list[tuple[Follower, dict[str, tuple[int | None, int]]]]:
        behind = []
        for s in self.sockets:
            if s.closed or s.closing:
                continue
            lagging = streams_behind(s.positions(), heads, s.streams())
            if lagging:
                behind.append((s, lagging))
        return behind

    async def settle(self, timeout: float) -> dict[str, Any]:
        """Wait until every open socket's positions equal the server's, at most `timeout` seconds.

        The server's positions are read again once the sockets reach them: done when they
        did not move meanwhile (a last coalesced count or leaderboard push can come late).
        """
        began = time.time()
        heads = await self.server_positions()
        while True:
            behind = self.sockets_behind(heads)
            if time.time() - began > timeout:
                break
            if behind:
                await asyncio.sleep(0.5)
                continue
            again = await self.server_positions()
            if again == heads:
                break
            heads = again
        self.server_heads = heads
        examples = [
            ", ".join(f"{stream} at {have} of {head}" for stream, (have, head) in sorted(lagging.items()))
            for _, lagging in behind[:5]
        ]
        return {
            "settle_seconds": time.time() - began,
            "sockets_behind_positions": len(behind),
            "behind_examples": examples,
        }

    def finish(self, truth_path: Path) -> None:
        truth = json.loads(truth_path.read_text())
        result = {
            "sockets_requested": self.config["sockets"],
            "sockets_open": self.open_count(),
            "connected_in_seconds": self.connected_in,
            "connect_seconds": percentiles_of(sorted(self.connect_seconds)),
            "frames": self.totals.frames,
            "events": self.totals.events,
            "connects": self.totals.connects,
            "connect_failures": self.totals.connect_failures,
            "disconnects": self.totals.disconnects,
            "distinct_frames": len(self.book.by_id),
            **self.resume_figures(),
            **self.settled,
            "latency": histogram_percentiles(self.totals.latency_bins),
            "latency_histogram": {str(i): n for i, n in enumerate(self.totals.latency_bins) if n},
            "last_follower_latency": self.last_follower_latency(),
            **self.convergence(truth),
        }
        Path(self.config["result_path"]).write_text(json.dumps(result))

    def resume_figures(self) -> dict[str, Any]:
        resumes = recovered = resync = replayed = 0
        for s in self.sockets:
            if s.resume_from is None:
                continue
            outcome = resume_outcome(self.book, s.sequence)
            if outcome is None:
                continue
            resumes += 1
            recovered += outcome.recovered
            resync += outcome.resync
            replayed += outcome.replayed
        return {
            "churn_seconds": self.churn_seconds,
            "resumes": resumes,
            "streams_recovered": recovered,
            "streams_resynced": resync,
            "events_replayed": replayed,
        }

    def last_follower_latency(self) -> dict[str, float]:
        """Per post.likes event: commit to the last socket that received it."""
        last_at: dict[tuple[int, int], tuple[float, float]] = {}
        for info in self.book.by_id:
            for event in info.events:
                if event.get("type") != "post.likes":
                    continue
                key = (event["post_id"], event["version"])
                seen = last_at.get(key)
                if seen is None or info.last_received > seen[1]:
                    last_at[key] = (event["ts"], info.last_received)
        return percentiles_of(sorted(received - ts for ts, received in last_at.values()))

    def convergence(self, truth: dict[str, Any]) -> dict[str, Any]:
        posts_truth: dict[str, list[int]] | None = truth.get("posts")
        writes: dict[str, int] = truth.get("writes", {})
        board_truth = truth.get("leaderboard")
        folded: dict[tuple[int, ...], Folded] = {}
        checked = wrong = wrong_board = 0
        stale = skipped = before_snapshot = 0
        delivered = expected = 0
        examples: list[str] = []
        for s in self.sockets:
            if s.closed or s.closing:
                continue
            key = tuple(s.sequence)
            state = folded.get(key)
            if state is None:
                state = folded[key] = fold(self.book, s.sequence)
            stale += state.stale
            skipped += state.skipped
            before_snapshot += state.before_snapshot
            if s.before_writes:
                delivered += state.post_events
                expected += sum(writes.get(str(p), 0) for p in s.follows)
            checked += 1
            if posts_truth is not None:
                for post_id in s.follows:
                    want = posts_truth.get(str(post_id))
                    have = state.posts.get(post_id)
                    if want is None or have is None or have[0] != want[0] or have[2] != want[2]:
                        wrong += 1
                        if len(examples) < 5:
                            where = self.whereabouts(s, post_id)
                            examples.append(f"post {post_id}: socket has {have}, database has {want}; {where}")
                        break
            if (
                board_truth is not None
                and state.leaderboard is not None
                and _board_key(state.leaderboard) != _board_key(board_truth)
            ):
                wrong_board += 1
        return {
            "sockets_checked": checked,
            "sockets_wrong": wrong if posts_truth is not None else None,
            "sockets_wrong_leaderboard": wrong_board if board_truth is not None else None,
            "wrong_examples": examples,
            "stale_events": stale,
            "versions_skipped": skipped,
            "events_before_snapshot": before_snapshot,
            "post_events_delivered": delivered,
            "post_events_expected": expected,
        }

    def whereabouts(self, socket: Follower, post_id: int) -> str:
        """Where an unequal socket stands in the post's stream, and the seqs it never got."""
        stream = f"post.{post_id}"
        have = socket.positions()[1].get(stream)
        head = self.server_heads[1].get(stream) if self.server_heads is not None else None
        missing = missing_seqs(self.book, socket.sequence, socket.resume_from).get(stream, [])
        resumed = "resumed" if socket.resume_from is not None else "never resumed"
        snapshots = [
            snapshot.get("seq")
            for frame_id in socket.sequence
            for event in self.book.by_id[frame_id].events
            if event.get("type") == "subscribed"
            for snapshot in event["posts"]
            if snapshot["id"] == post_id
        ]
        return (
            f"{stream} at seq {have} of the server's {head}, missing seqs {missing[:10]}, "
            f"snapshot seqs {snapshots} ({resumed})"
        )


def _board_key(entries: list[dict[str, Any]]) -> list[tuple[int, str, int]]:
    return [(e["rank"], e["user"]["username"], e["karma"]) for e in entries]


@dataclass
class Folded:
    posts: dict[int, list[int]] = field(default_factory=dict)  # id -> [like_count, version, comment_count]
    leaderboard: list[dict[str, Any]] | None = None
    leaderboard_seq: int = -1
    stale: int = 0
    skipped: int = 0
    # Events numbered after their post's snapshot that arrived before it, applied on top of it.
    before_snapshot: int = 0
    post_events: int = 0


def fold(book: FrameBook, sequence: list[int]) -> Folded:
    """A socket's final state, applying its frames in order as a browser would.

    The server joins a socket to a post's stream before it reads the `subscribed` snapshot,
    so an event numbered after the snapshot's seq can arrive before the snapshot itself (so
    can a resume's replay, numbered before it): such events wait for the snapshot, and
    those above its seq are applied on top of it.
    """
    state = Folded()
    posts = state.posts
    early: dict[int, list[dict[str, Any]]] = {}
    for frame_id in sequence:
        for event in book.by_id[frame_id].events:
            kind = event.get("type")
            if kind in ("post.likes", "comment.created"):
                state.post_events += 1
                have = posts.get(event["post_id"])
                if have is None:
                    early.setdefault(event["post_id"], []).append(event)
                else:
                    _apply_post_event(state, have, event)
            elif kind == "subscribed":
                for snapshot in event["posts"]:
                    have = posts.get(snapshot["id"])
                    if have is None:
                        have = posts[snapshot["id"]] = [
                            snapshot["like_count"],
                            snapshot["version"],
                            snapshot["comment_count"],
                        ]
                    else:
                        if snapshot["version"] > have[1]:
                            have[0], have[1] = snapshot["like_count"], snapshot["version"]
                        have[2] = max(have[2], snapshot["comment_count"])
                    for waiting in early.pop(snapshot["id"], []):
                        if snapshot.get("seq") is not None and waiting.get("seq", -1) > snapshot["seq"]:
                            state.before_snapshot += 1
                            _apply_post_event(state, have, waiting)
            elif kind == "leaderboard":
                # A resume's replay can bring a board older than the one sent on connect.
                seq = event.get("seq")
                if seq is None or seq > state.leaderboard_seq:
                    state.leaderboard = event["entries"]
                    state.leaderboard_seq = state.leaderboard_seq if seq is None else seq
    return state


def _apply_post_event(state: Folded, have: list[int], event: dict[str, Any]) -> None:
    if event["type"] == "comment.created":
        have[2] = max(have[2], event["comment_count"])
        return
    version = event["version"]
    if version > have[1]:
        state.skipped += version - have[1] - 1
        have[0], have[1] = event["like_count"], version
    elif version < have[1]:
        state.stale += 1


def stream_summary(info: FrameInfo) -> tuple[tuple[str | None, int | None] | None, dict[str, int]]:
    """What one frame says of positions: its hello's (epoch, feed_seq) if any, and per stream
    the highest seq in it (each subscribed post's seq, the leaderboard frame's, every event's)."""
    if info.summary is not None:
        return info.summary
    hello: tuple[str | None, int | None] | None = None
    tops: dict[str, int] = {}

    def advance(stream: str, seq: int | None) -> None:
        if seq is not None and seq > tops.get(stream, -1):
            tops[stream] = seq

    for event in info.events:
        kind = event.get("type")
        if kind == "hello":
            hello = (event.get("epoch"), event.get("feed_seq"))
        elif kind == "subscribed":
            for snapshot in event["posts"]:
                advance(f"post.{snapshot['id']}", snapshot.get("seq"))
        elif "seq" in event:
            advance(event.get("stream", "leaderboard" if kind == "leaderboard" else ""), event["seq"])
    tops.pop("", None)
    info.summary = (hello, tops)
    return info.summary


class PositionTracker:
    """A socket's place in the streams, brought up to date with only the frames it got since
    the last call (the end-of-run wait asks for every socket's positions many times)."""

    def __init__(self, start: Positions | None = None) -> None:
        self.epoch, self.seqs = (start[0], dict(start[1])) if start is not None else (None, {})
        self.frames_read = 0

    def update(self, book: FrameBook, sequence: list[int]) -> Positions:
        seqs = self.seqs
        for frame_id in sequence[self.frames_read :]:
            hello, tops = stream_summary(book.by_id[frame_id])
            if hello is not None:
                if hello[0] != self.epoch:
                    # Another life of the streams: the old positions are void.
                    self.epoch, seqs = hello[0], {}
                    self.seqs = seqs
                if hello[1] is not None and hello[1] > seqs.get("feed", -1):
                    seqs["feed"] = hello[1]
            for stream, seq in tops.items():
                if seq > seqs.get(stream, -1):
                    seqs[stream] = seq
        self.frames_read = len(sequence)
        return self.epoch, dict(seqs)


def positions_of(book: FrameBook, sequence: list[int], start: Positions | None = None) -> Positions:
    """Where a socket stands in each stream after its frames: the epoch of its hello, and per
    stream the highest seq it got (hello's feed_seq, the leaderboard frame's and each
    subscribed post's seq, every event's own), on top of the positions it resumed from."""
    return PositionTracker(start).update(book, sequence)


def streams_behind(positions: Positions, heads: Positions, streams: list[str]) -> dict[str, tuple[int | None, int]]:
    """The streams (of those named) where a socket is behind the server: {stream: (socket's, server's)}."""
    epoch, seqs = positions
    head_epoch, head_seqs = heads
    behind: dict[str, tuple[int | None, int]] = {}
    for stream in streams:
        head = head_seqs.get(stream)
        if head is None:
            continue
        have = seqs.get(stream) if epoch == head_epoch else None
        if have is None or have < head:
            behind[stream] = (have, head)
    return behind


def missing_seqs(book: FrameBook, sequence: list[int], start: Positions | None = None) -> dict[str, list[int]]:
    """Per stream, the seqs a socket never received after what a state it was given covers
    (its resume positions, hello's feed_seq, a subscribed post's seq, a leaderboard frame):
    the events it lost, if its positions say it is up to date."""
    epoch, covered = (start[0], dict(start[1])) if start is not None else (None, {})
    received: dict[str, set[int]] = {}

    def cover(stream: str, seq: int | None) -> None:
        if seq is not None and seq > covered.get(stream, -1):
            covered[stream] = seq

    for frame_id in sequence:
        for event in book.by_id[frame_id].events:
            kind = event.get("type")
            if kind == "hello":
                if event.get("epoch") != epoch:
                    epoch, covered, received = event.get("epoch"), {}, {}
                cover("feed", event.get("feed_seq"))
            elif kind == "subscribed":
                for snapshot in event["posts"]:
                    cover(f"post.{snapshot['id']}", snapshot.get("seq"))
            elif kind == "leaderboard" and "seq" in event:
                cover("leaderboard", event["seq"])  # the whole board: nothing before it is missing
            elif "seq" in event and "stream" in event:
                received.setdefault(event["stream"], set()).add(event["seq"])
    missing: dict[str, list[int]] = {}
    for stream, seqs in received.items():
        floor = covered.get(stream, min(seqs) - 1)
        gaps = [seq for seq in range(floor + 1, max(seqs) + 1) if seq not in seqs]
        if gaps:
            missing[stream] = gaps
    return missing


@dataclass
class ResumeOutcome:
    recovered: int
    resync: int
    replayed: int  # events of recovered streams between `resumed` and the `subscribed` answer


def resume_outcome(book: FrameBook, sequence: list[int]) -> ResumeOutcome | None:
    """What a resuming socket got back; None if its `resumed` answer never came."""
    outcome: ResumeOutcome | None = None
    recovered: set[str] = set()
    for frame_id in sequence:
        for event in book.by_id[frame_id].events:
            kind = event.get("type")
            if kind == "resumed":
                recovered = set(event["recovered"])
                outcome = ResumeOutcome(len(recovered), len(event["resync"]), 0)
            elif outcome is not None:
                if kind == "subscribed":
                    return outcome
                if event.get("stream") in recovered and "seq" in event:
                    outcome.replayed += 1
    return outcome


def percentiles_of(values: list[float]) -> dict[str, float]:
    """Nearest-rank percentiles of sorted values: p99 is the smallest value at or above 99 % of them."""
    if not values:
        return {}

    def at(q: float) -> float:
        return values[max(0, math.ceil(q * len(values)) - 1)]

    return {"count": len(values), "p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": values[-1]}


def histogram_percentiles(bins: list[int]) -> dict[str, float]:
    total = sum(bins)
    if not total:
        return {}
    wanted = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
    found: dict[str, float] = {"count": total}
    running = 0
    for index, n in enumerate(bins):
        if not n:
            continue
        running += n
        for name, q in wanted.items():
            if name not in found and running >= q * total:
                found[name] = (index + 1) * BIN_SECONDS
        found["max"] = (index + 1) * BIN_SECONDS
    return found


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    uvloop.run(LoadClient(config).run())


if __name__ == "__main__":
    main()
