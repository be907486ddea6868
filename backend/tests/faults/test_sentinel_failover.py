"""Redis Sentinel: a primary, a replica and three sentinels; the workers find the primary
through them (REDIS_SENTINELS, REDIS_SENTINEL_MASTER) for the channel layer and the sessions
cache. The primary is killed during a like storm: writes keep answering 2xx, events flow
again soon after the replica is promoted, no like is lost and every socket converges.

    cd backend && .venv/bin/pytest tests/faults/test_sentinel_failover.py
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator

import pytest

from tests.faults.conftest import FaultStack
from tests.faults.harness import Figures, Storm, http
from tests.faults.servers import SentinelGroup

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_services]
EVENTS_AFTER_PROMOTION_SECONDS = 10.0


@pytest.fixture
def sentinel_group(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelGroup]:
    group = SentinelGroup(tmp_path_factory.mktemp("sentinel"))
    try:
        group.start()
        yield group
    finally:
        group.stop()


async def test_the_primary_killed_mid_storm_fails_over_without_losing_a_like(
    sentinel_group: SentinelGroup,
    start_stack: Callable[..., FaultStack],
    storm_with_fault: Callable[..., Awaitable[Figures]],
) -> None:
    group = sentinel_group
    stack = await asyncio.to_thread(
        start_stack,
        {"REDIS_URL": "", "REDIS_SENTINELS": group.sentinel_addresses, "REDIS_SENTINEL_MASTER": group.master_name},
    )
    # Positive control: the workers really are on the group's primary (its clients are theirs).
    assert group.primary.count_clients("pubsub") >= len(stack.worker_names)
    health = await asyncio.to_thread(http, "GET", stack.url + "/api/health/")
    assert health.status == 200, health.body
    figures = Figures(
        "Sentinel failover (primary SIGKILLed)",
        "SIGKILL to the Redis primary; 3 sentinels promote the replica",
        "cd backend && .venv/bin/pytest tests/faults/test_sentinel_failover.py",
    )
    replica = group.replica.address

    async def inject(storm: Storm) -> float:
        killed_at = time.monotonic()
        await asyncio.to_thread(group.primary.kill)
        await asyncio.to_thread(
            group.wait_until, lambda: all(group.master_address(s) == replica for s in group.sentinels), "promotion"
        )
        promoted_at = time.monotonic()
        figures.notes.append(f"replica promoted {promoted_at - killed_at:.2f} s after the kill")
        return promoted_at

    await storm_with_fault(stack, figures, inject)
    assert figures.failed_writes == 0, figures.statuses
    assert (figures.lost_likes, figures.ghost_likes) == (0, 0)
    assert figures.events_flow_after is not None and figures.events_flow_after < EVENTS_AFTER_PROMOTION_SECONDS
    assert figures.converged_after is not None
    # The workers now talk to the promoted replica, and say they are healthy.
    assert group.replica.count_clients("pubsub") >= len(stack.worker_names)
    health = await asyncio.to_thread(http, "GET", stack.url + "/api/health/")
    assert health.status == 200, health.body
