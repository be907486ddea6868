"""Connections cut under a like storm, on nginx and two workers: the workers' Redis
connections killed (CLIENT KILL), their PostgreSQL backends terminated (pg_terminate_backend),
a worker killed with SIGKILL. Nothing a client was told is lost, nothing is half-written, no
answer is a 500, and every socket ends up showing what a fresh read returns.

    cd backend && .venv/bin/pytest tests/faults/test_connection_faults.py -rA
"""

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from tests.faults.conftest import WORKER_APPLICATION_NAME, FaultStack
from tests.faults.harness import STORM_THREADS, Figures, Storm
from tests.faults.servers import RedisProcess

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_services]
COMMAND = "cd backend && .venv/bin/pytest tests/faults/test_connection_faults.py"


@pytest.fixture(scope="module")
def redis_server(start_redis: Callable[..., RedisProcess]) -> RedisProcess:
    return start_redis()


@pytest.fixture(scope="module")
def stack(redis_server: RedisProcess, start_stack: Callable[..., FaultStack]) -> FaultStack:
    """nginx and two workers on their own Redis, shared by this module's tests."""
    return start_stack({"REDIS_URL": redis_server.url})


@pytest.fixture
def healthy_stack(stack: FaultStack) -> FaultStack:
    stack.wait_ready()  # every worker up (the SIGKILL test's victim is replaced)
    return stack


def assert_no_harm(figures: Figures) -> None:
    assert figures.internal_errors == 0, figures.statuses
    assert figures.missing_retry_after == 0, "a 503 came without Retry-After"
    assert (figures.lost_likes, figures.ghost_likes) == (0, 0)
    assert figures.converged_after is not None


async def test_killing_the_hubs_pubsub_connections_mid_storm(
    redis_server: RedisProcess,
    healthy_stack: FaultStack,
    storm_with_fault: Callable[..., Awaitable[Figures]],
) -> None:
    stack = healthy_stack
    figures = Figures("Redis pub/sub connections killed", "CLIENT KILL TYPE pubsub", f"{COMMAND} -k pubsub")

    async def inject(storm: Storm) -> None:
        killed = await asyncio.to_thread(redis_server.kill_clients, "pubsub")
        figures.notes.append(f"{killed} pub/sub connections killed")
        assert killed >= len(stack.worker_names), "every worker's hub subscription should have been cut"

    await storm_with_fault(stack, figures, inject)
    assert_no_harm(figures)
    assert figures.failed_writes == 0, "writes never wait for the channel layer"


async def test_killing_every_redis_connection_of_the_workers_mid_storm(
    redis_server: RedisProcess,
    healthy_stack: FaultStack,
    storm_with_fault: Callable[..., Awaitable[Figures]],
) -> None:
    stack = healthy_stack
    figures = Figures(
        "every Redis connection killed", "CLIENT KILL TYPE normal, then pubsub", f"{COMMAND} -k every_redis"
    )

    async def inject(storm: Storm) -> None:
        normal = await asyncio.to_thread(redis_server.kill_clients, "normal")
        pubsub = await asyncio.to_thread(redis_server.kill_clients, "pubsub")
        figures.notes.append(f"{normal} command and {pubsub} pub/sub connections killed")
        assert pubsub >= len(stack.worker_names) and normal >= 1

    await storm_with_fault(stack, figures, inject)
    assert_no_harm(figures)


async def test_terminating_the_workers_postgresql_backends_mid_storm(
    healthy_stack: FaultStack,
    storm_with_fault: Callable[..., Awaitable[Figures]],
) -> None:
    stack = healthy_stack
    figures = Figures(
        "PostgreSQL backends terminated",
        "pg_terminate_backend on every worker connection, 3 times, 40 writes apart",
        f"{COMMAND} -k postgresql",
    )

    def terminate() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
                [WORKER_APPLICATION_NAME],
            )
            return int(cursor.fetchone()[0])

    async def inject(storm: Storm) -> None:
        terminated = []
        for round_ in range(3):
            if round_:
                await asyncio.to_thread(storm.wait_for_writes, 40)
            terminated.append(await sync_to_async(terminate)())
        figures.notes.append(f"backends terminated per round: {terminated}")
        assert all(terminated), "every round should have found worker backends to end"

    await storm_with_fault(stack, figures, inject)
    assert_no_harm(figures)
    assert figures.statuses.get("503", 0) >= 1, "terminated backends should have cost some writes a 503"
    # A 503 is the database's moment, not the worker's: nginx must not take workers out for it.
    assert set(figures.statuses) == {"503"}, figures.statuses


async def test_a_worker_killed_with_sigkill_behind_nginx_mid_storm(
    healthy_stack: FaultStack,
    storm_with_fault: Callable[..., Awaitable[Figures]],
) -> None:
    stack = healthy_stack
    victim = stack.worker_names[0]
    figures = Figures("a worker killed (SIGKILL)", f"SIGKILL to {victim}'s uvicorn", f"{COMMAND} -k sigkill")

    async def inject(storm: Storm) -> None:
        os.kill(stack.worker_pid(victim), signal.SIGKILL)

    await storm_with_fault(stack, figures, inject)
    assert_no_harm(figures)
    assert figures.reconnects >= 1, "the victim's sockets should have reconnected through nginx"
    # Only the writes the victim was handling when it died go unanswered (nginx answers 502
    # and does not resend a POST or DELETE that may have run); one per storm thread at most.
    assert set(figures.statuses) <= {"502"} and figures.failed_writes <= STORM_THREADS, figures.statuses
