"""Subscribe snapshots: sockets that ask at the same moment share one read."""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from accounts.models import User
from feed import selectors
from realtime import snapshots, streams
from realtime.runtime import get_runtime, stop_runtime
from realtime.snapshots import SnapshotReader
from tests.factories import make_post


@pytest.fixture
async def new_reader() -> AsyncIterator[Callable[[], SnapshotReader]]:
    hub = (await get_runtime()).hub
    yield lambda: SnapshotReader(streams.get_log(), hub)
    await stop_runtime()


@pytest.mark.django_db(transaction=True)
async def test_concurrent_subscribes_share_one_query_and_each_gets_its_own_posts(
    make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch, new_reader: Callable[[], SnapshotReader]
) -> None:
    author = await sync_to_async(make_user)()
    posts = [await sync_to_async(make_post)(author) for _ in range(4)]
    ids = [p.pk for p in posts]
    reads: list[list[int]] = []
    real_read = selectors.posts_live_state

    def counting_read(*, post_ids: list[int]) -> list[dict[str, Any]]:
        reads.append(post_ids)
        return real_read(post_ids=post_ids)

    monkeypatch.setattr(snapshots.selectors, "posts_live_state", counting_read)
    reader = new_reader()
    asked = [[ids[2], ids[0]], [ids[1]], [ids[3], ids[1], 999_999_999]]
    answers = await asyncio.gather(*(reader.read(post_ids) for post_ids in asked))

    assert [[row["id"] for row in answer] for answer in answers] == [[ids[0], ids[2]], [ids[1]], [ids[1], ids[3]]]
    assert answers[0][0] == {
        "id": ids[0],
        "like_count": 0,
        "comment_count": 0,
        "version": 0,
        "deleted": False,
        "seq": 0,
    }
    # All three asked before the reader task ran: one query covers the union of their posts.
    assert reads == [sorted({*ids, 999_999_999})]


@pytest.mark.django_db(transaction=True)
async def test_a_failed_read_reaches_every_waiting_socket(
    monkeypatch: pytest.MonkeyPatch, new_reader: Callable[[], SnapshotReader]
) -> None:
    def failing_read(*, post_ids: list[int]) -> list[dict[str, Any]]:
        raise RuntimeError("database gone")

    monkeypatch.setattr(snapshots.selectors, "posts_live_state", failing_read)
    reader = new_reader()
    results = await asyncio.gather(reader.read([1]), reader.read([2]), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    # The reader recovers: the next read starts a new task.
    monkeypatch.setattr(snapshots.selectors, "posts_live_state", lambda *, post_ids: [])
    assert await reader.read([3]) == []
