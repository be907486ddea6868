"""The resume query counters on /metrics: a statement run inside a resume is counted, one
outside is not, and a resume within the backlog counts none."""

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from prometheus_client import REGISTRY

from accounts.models import User
from feed import services
from ops.resume_queries import counts_resume_queries
from realtime import streams
from testing.plugin import eventually_async
from tests.factories import make_post

pytestmark = pytest.mark.django_db(transaction=True)


def resume_counters() -> tuple[float, float]:
    """(statements counted inside resumes, resumes answered) in this process."""
    queries = REGISTRY.get_sample_value("karmafeed_resume_queries_total") or 0.0
    resumes = REGISTRY.get_sample_value("karmafeed_resume_messages_total") or 0.0
    return queries, resumes


async def test_a_statement_run_inside_a_resume_is_counted_and_one_outside_is_not() -> None:
    count_users = database_sync_to_async(User.objects.count)

    @counts_resume_queries
    async def a_resume_that_reads() -> int:
        return await count_users()

    # Outside a resume first: this also opens the executor thread's connection.
    before = resume_counters()
    await count_users()
    assert resume_counters() == before
    await a_resume_that_reads()
    queries, resumes = resume_counters()
    assert (queries - before[0], resumes - before[1]) == (1, 1)


async def test_a_resume_within_the_backlog_counts_no_query(
    live_socket: Callable[..., Any], make_user: Callable[..., User]
) -> None:
    author, fan = await sync_to_async(make_user)(), await sync_to_async(make_user)()
    post = await sync_to_async(make_post)(author)
    away = await live_socket()
    await away.request({"type": "subscribe", "post_ids": [post.pk]}, "subscribed")
    positions, epoch = dict(away.positions), away.epoch
    await away.communicator.disconnect()
    await sync_to_async(services.comment_create)(author=fan, post_id=post.pk, content="while away")
    await sync_to_async(services.post_like_set)(user=fan, post_id=post.pk)
    # A like count is numbered once its coalescing window has passed: wait until it is in the backlog.
    stream = f"post.{post.pk}"

    async def numbered() -> bool:
        return (await streams.get_log().apositions([stream])).seqs[stream] == positions[stream] + 2

    await eventually_async(numbered, "the comment and the like numbered in the post's stream")
    back = await live_socket()
    before = resume_counters()
    answer = await back.resume(positions, epoch=epoch)
    await back.wait_for("post.likes", post_id=post.pk)
    assert answer["resync"] == [] and stream in answer["recovered"]
    queries, resumes = resume_counters()
    assert (queries - before[0], resumes - before[1]) == (0, 1)
