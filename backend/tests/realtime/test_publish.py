"""The publishers: commit order, a hot object's like counts coalesced in its window, retries, flush on stop.

Both publishers run against this process's real stream log (Redis, or the in-memory log of the
embedded mode): what a test reads back is what the log numbered.
"""

import asyncio
import io
import itertools
import os
import random
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest
from django.test import override_settings

from realtime import channels_redis_wire as wire
from realtime import publish, streams
from realtime.events import Event, comment_deleted, post_group, post_likes
from realtime.tasks import cancel_and_wait
from realtime.window import FollowingWindow
from testing.plugin import eventually_async
from tests.config.settings_probe import BACKEND_DIR, clean_environment

_post_ids = itertools.count(random.randrange(10**12, 10**13, 10**6))


# Far past a stop's one round trip, far short of pytest-timeout: a publisher that does not stop
# fails its test with the stack it is stuck in.
STOP_DEADLINE_SECONDS = 10.0


def _stack_of(task: asyncio.Task[Any]) -> str:
    printed = io.StringIO()
    task.print_stack(file=printed)
    return printed.getvalue()


class Running:
    """A publisher of either kind, running, as a test drives it."""

    def __init__(self, submit: Callable[[Event], None], stop: Callable[[], Any]) -> None:
        self.submit = submit
        self.stop = stop


@pytest.fixture(params=["loop", "thread"])
async def start_publisher(request: pytest.FixtureRequest) -> AsyncIterator[Callable[..., Running]]:
    stoppers: list[Callable[[], Any]] = []

    def start(*, window: float, shortest: float | None = None) -> Running:
        """A publisher whose window is `window`, or follows the rounds down to `shortest`."""
        following = FollowingWindow(shortest=window if shortest is None else shortest, longest=window)
        if request.param == "loop":
            on_loop = publish.Publisher(window=following)
            task = asyncio.create_task(on_loop.run())

            async def stop_loop() -> None:
                try:
                    async with asyncio.timeout(STOP_DEADLINE_SECONDS):
                        await cancel_and_wait([task])
                        await on_loop.flush()
                except TimeoutError:
                    raise AssertionError(f"the publisher did not stop; its task:\n{_stack_of(task)}") from None

            running = Running(on_loop.submit, stop_loop)
        else:
            threaded = publish.ThreadPublisher(window=following)
            running = Running(threaded.submit, lambda: asyncio.to_thread(threaded.stop))
        stoppers.append(running.stop)
        return running

    yield start
    for stop in stoppers:
        await stop()


def new_stream() -> tuple[int, str]:
    post_id = next(_post_ids)
    return post_id, post_group(post_id)


def like(post_id: int, version: int) -> Event:
    return post_likes(post_id=post_id, like_count=version, version=version)


def deleted(post_id: int, comment_id: int) -> Event:
    return comment_deleted(post_id=post_id, comment_id=comment_id, comment_count=0)


def seq_of(stream: str) -> int:
    return streams.get_log().positions([stream]).seqs[stream]


async def numbered(stream: str) -> list[tuple[str, int]]:
    """What the log numbered in the stream, oldest first: (type, version or comment id)."""
    backlog = await streams.get_log().aread_since({stream: 0})
    read = [orjson.loads(text) for _, text in backlog.recovered[stream]]
    return [(event["type"], event.get("version", event.get("comment_id"))) for event in read]


async def wait_for_seq(stream: str, seq: int) -> None:
    await eventually_async(lambda: seq_of(stream) >= seq, f"{stream} numbered up to {seq}")


async def test_a_count_that_arrives_alone_goes_at_once(start_publisher: Callable[..., Running]) -> None:
    post_id, stream = new_stream()
    # A window no test waits out: the first count goes because nothing of its object went before.
    running = start_publisher(window=60.0)
    running.submit(like(post_id, 1))
    await wait_for_seq(stream, 1)
    assert await numbered(stream) == [("post.likes", 1)]


async def test_a_burst_takes_one_seq_after_its_first_count(start_publisher: Callable[..., Running]) -> None:
    post_id, stream = new_stream()
    # Long enough that the 29 counts surely arrive within it, short enough to wait out.
    running = start_publisher(window=2.0)
    running.submit(like(post_id, 1))
    await wait_for_seq(stream, 1)
    for version in range(2, 31):
        running.submit(like(post_id, version))
    # The window since the first count passed without anything else to send: 29 counts, one seq.
    await wait_for_seq(stream, 2)
    await running.stop()
    assert await numbered(stream) == [("post.likes", 1), ("post.likes", 30)]


async def test_a_window_that_follows_the_rounds_shortens_to_the_round_reported(
    start_publisher: Callable[..., Running],
) -> None:
    # Two publishers with the same longest window, one free to follow the rounds down.
    (followed_id, followed), (fixed_id, fixed) = new_stream(), new_stream()
    following = start_publisher(window=60.0, shortest=0.05)
    fixed_window = start_publisher(window=60.0)
    await streams.get_log().areport_round(0.2)
    following.submit(like(followed_id, 1))
    fixed_window.submit(like(fixed_id, 1))
    await wait_for_seq(followed, 1)
    await wait_for_seq(fixed, 1)
    # The second count of each post waits its window: 0.2 s, the round, against 60 s.
    following.submit(like(followed_id, 2))
    fixed_window.submit(like(fixed_id, 2))
    await wait_for_seq(followed, 2)
    assert seq_of(fixed) == 1, "the fixed window still holds its count"


async def test_other_events_go_at_once_in_commit_order(start_publisher: Callable[..., Running]) -> None:
    post_id, stream = new_stream()
    # A window no test waits out: the events below go because they are not like counts.
    running = start_publisher(window=60.0)
    running.submit(like(post_id, 1))
    await wait_for_seq(stream, 1)
    for event in (deleted(post_id, 7), like(post_id, 2), deleted(post_id, 3), like(post_id, 3)):
        running.submit(event)
    await wait_for_seq(stream, 3)
    assert await numbered(stream) == [("post.likes", 1), ("comment.deleted", 7), ("comment.deleted", 3)]
    # The count kept its window (sent here by stop), the newest of the two.
    await running.stop()
    assert await numbered(stream) == [
        ("post.likes", 1),
        ("comment.deleted", 7),
        ("comment.deleted", 3),
        ("post.likes", 3),
    ]


async def test_a_count_is_never_numbered_after_a_newer_one(start_publisher: Callable[..., Running]) -> None:
    post_id, stream = new_stream()
    running = start_publisher(window=0.2)
    # Commits of two request threads can reach the publisher out of version order.
    for event in (like(post_id, 5), like(post_id, 3)):
        running.submit(event)
    await wait_for_seq(stream, 1)
    # Sent after a newer count was numbered: the stream log drops it.
    for event in (like(post_id, 4), deleted(post_id, 2)):
        running.submit(event)
    await wait_for_seq(stream, 2)
    await running.stop()
    assert await numbered(stream) == [("post.likes", 5), ("comment.deleted", 2)]


async def test_stop_sends_the_counts_still_in_their_window(start_publisher: Callable[..., Running]) -> None:
    post_id, stream = new_stream()
    running = start_publisher(window=60.0)
    running.submit(like(post_id, 1))
    await wait_for_seq(stream, 1)
    running.submit(like(post_id, 2))
    running.submit(like(post_id, 3))
    assert seq_of(stream) == 1, "a like count went before its window"
    await running.stop()
    # Positive control for the check above: the newest count, sent by stop.
    assert await numbered(stream) == [("post.likes", 1), ("post.likes", 3)]


@pytest.mark.needs_services
async def test_a_send_that_failed_is_retried_in_order_once_redis_answers(
    start_publisher: Callable[..., Running], settings: Any
) -> None:
    post_id, stream = new_stream()
    running = start_publisher(window=0.0)
    unreachable = {"default": {**settings.CHANNEL_LAYERS["default"], "CONFIG": {"hosts": ["redis://127.0.0.1:9/0"]}}}
    began = time.time()
    with override_settings(CHANNEL_LAYERS=unreachable):
        for event in (deleted(post_id, 1), like(post_id, 1), deleted(post_id, 2)):
            running.submit(event)
        # Positive control: the publisher did try, and Redis did refuse it.
        await eventually_async(
            lambda: (publish.push_health.last_failure_at or 0) >= began, "a failed send recorded in health"
        )
        running.submit(like(post_id, 2))
    await wait_for_seq(stream, 3)
    assert await numbered(stream) == [("comment.deleted", 1), ("post.likes", 2), ("comment.deleted", 2)]


@pytest.mark.needs_services
async def test_a_wsgi_worker_sends_its_held_counts_when_it_exits(settings: Any) -> None:
    post_id, stream = new_stream()
    _, prefix = wire.layer_hosts_and_prefix(settings.CHANNEL_LAYERS["default"])
    # The first count goes at once; once it is numbered, the second waits a window far longer
    # than the process lives: only the flush at exit can send it.
    script = f"""
import time
import config.wsgi
from realtime import events, publish, runtime, streams
assert runtime.serving() is not None, "no thread runtime installed"
publish.publish_now(events.post_likes(post_id={post_id}, like_count=1, version=1))
give_up = time.monotonic() + 10
while streams.get_log().positions(["{stream}"]).seqs["{stream}"] < 1:
    assert time.monotonic() < give_up, "the first count was never numbered"
    time.sleep(0.01)
publish.publish_now(events.post_likes(post_id={post_id}, like_count=2, version=2))
"""
    env = clean_environment(
        DJANGO_SETTINGS_MODULE="config.settings_test",
        REDIS_URL=os.environ["REDIS_URL"],
        REDIS_CHANNEL_PREFIX=prefix,
        REALTIME_COALESCE_WINDOW_MS="5000",
    )
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", script], cwd=BACKEND_DIR, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert await numbered(stream) == [("post.likes", 1), ("post.likes", 2)]
