"""The presence stores, one test module run against both: Redis (any number of workers) and
memory (the embedded process). Each worker writes its own counts; totals add the workers whose
lease is live."""

import uuid
from collections.abc import AsyncIterator

import pytest

from realtime.presence import PresenceStore, deployment_prefix
from realtime.presence_memory import MemoryPresenceStore
from realtime.presence_redis import RedisPresenceStore
from testing.plugin import eventually_async, redis_servers


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.needs_services)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[PresenceStore]:
    if request.param == "memory":
        yield MemoryPresenceStore()
        return
    # A prefix of its own under the run's prefix: these keys are seen by this test only.
    prefix = f"{deployment_prefix()}:t{uuid.uuid4().hex[:8]}"
    redis_store = RedisPresenceStore(client=redis_servers().async_client(), prefix=prefix)
    yield redis_store
    await redis_store.close()


async def test_totals_add_every_worker(store: PresenceStore) -> None:
    await store.sync(worker="a", changed={1: 2, 2: 1}, wanted=[], ttl=10)
    await store.sync(worker="b", changed={1: 3}, wanted=[], ttl=10)
    result = await store.sync(worker="a", changed={}, wanted=[1, 2, 3], ttl=10)
    assert result.totals == {1: 5, 2: 1, 3: 0}


async def test_a_count_of_zero_removes_the_worker_from_a_post(store: PresenceStore) -> None:
    await store.sync(worker="a", changed={1: 2}, wanted=[], ttl=10)
    await store.sync(worker="b", changed={1: 3}, wanted=[], ttl=10)
    result = await store.sync(worker="a", changed={1: 0}, wanted=[1], ttl=10)
    assert result.totals == {1: 3}
    assert (await store.sync(worker="a", changed={1: 1}, wanted=[1], ttl=10)).totals == {1: 4}


async def test_renewed_says_whether_the_lease_was_live(store: PresenceStore) -> None:
    assert not (await store.sync(worker="a", changed={1: 1}, wanted=[], ttl=10)).renewed
    assert (await store.sync(worker="a", changed={}, wanted=[], ttl=10)).renewed


async def test_a_worker_that_stops_renewing_stops_counting_when_its_lease_ends(store: PresenceStore) -> None:
    await store.sync(worker="dying", changed={7: 4}, wanted=[], ttl=0.5)
    result = await store.sync(worker="alive", changed={7: 1}, wanted=[7], ttl=10)
    assert result.totals == {7: 5}  # positive control: the dying worker counts while its lease lasts

    async def only_the_live_one_counts() -> bool:
        return (await store.sync(worker="alive", changed={}, wanted=[7], ttl=10)).totals == {7: 1}

    await eventually_async(only_the_live_one_counts, "the dying worker's counts gone once its lease ended")


async def test_a_lapsed_lease_drops_the_old_counts(store: PresenceStore) -> None:
    await store.sync(worker="stalled", changed={1: 4, 2: 2}, wanted=[], ttl=0.3)

    async def lapsed() -> bool:
        return (await store.sync(worker="other", changed={}, wanted=[1], ttl=10)).totals == {1: 0}

    await eventually_async(lapsed, "the stalled worker's counts gone")
    # Back after the stall: told its lease lapsed; what it writes now is all that counts.
    result = await store.sync(worker="stalled", changed={1: 1}, wanted=[1, 2], ttl=10)
    assert not result.renewed
    assert result.totals == {1: 1, 2: 0}


async def test_leave_forgets_a_worker_at_once(store: PresenceStore) -> None:
    await store.sync(worker="a", changed={1: 2}, wanted=[], ttl=10)
    await store.sync(worker="b", changed={1: 3}, wanted=[], ttl=10)
    await store.leave(worker="b")
    assert (await store.sync(worker="a", changed={}, wanted=[1], ttl=10)).totals == {1: 2}
    assert not (await store.sync(worker="b", changed={}, wanted=[], ttl=10)).renewed


async def test_many_posts_in_one_round(store: PresenceStore) -> None:
    counts = {post_id: post_id % 7 + 1 for post_id in range(1, 2501)}
    await store.sync(worker="a", changed=counts, wanted=[], ttl=10)
    await store.sync(worker="b", changed={2500: 10}, wanted=[], ttl=10)
    result = await store.sync(worker="c", changed={}, wanted=sorted(counts), ttl=10)
    assert result.totals == {**counts, 2500: counts[2500] + 10}
