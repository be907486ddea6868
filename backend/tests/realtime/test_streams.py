"""The stream logs: numbering, stale counts, backlog, expiry, epoch, round reports; Redis and in-memory alike."""

import asyncio
import itertools
import random
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from realtime import events, streams
from realtime.streams import StreamLog
from realtime.streams_memory import MemoryStreamLog

_runs = itertools.count(1)
MakeLog = Callable[..., StreamLog]


def _redis_log(backlog: int, idle_expiry: int) -> StreamLog:
    from realtime import channels_redis_wire as wire
    from realtime.streams_redis import RedisStreamLog

    hosts, prefix = wire.layer_hosts_and_prefix(settings.CHANNEL_LAYERS["default"])
    # A prefix of its own per log: every test starts from empty streams.
    own = f"{prefix}-log{next(_runs)}"
    return RedisStreamLog(
        host=hosts[0], prefix=own, channel=wire.group_channel(own, "unheard"), backlog=backlog, idle_expiry=idle_expiry
    )


def _memory_log(backlog: int, idle_expiry: int) -> StreamLog:
    return MemoryStreamLog(backlog=backlog, idle_expiry=idle_expiry)


@pytest.fixture(params=[pytest.param("redis", marks=pytest.mark.needs_services), "memory"])
async def make_log(request: pytest.FixtureRequest) -> AsyncIterator[MakeLog]:
    made: list[StreamLog] = []

    def make(*, backlog: int = 1000, idle_expiry: int = 3600) -> StreamLog:
        log = (_redis_log if request.param == "redis" else _memory_log)(backlog, idle_expiry)
        made.append(log)
        return log

    yield make
    for log in made:
        if request.param == "redis":
            _forget_keys(log)
        await log.aclose()


def _forget_keys(log: Any) -> None:
    client = log._client
    for key in client.scan_iter(f"{log.prefix}:streams:*"):
        client.delete(key)


def like(post_id: int, version: int) -> events.Event:
    return events.post_likes(post_id=post_id, like_count=version, version=version)


def parsed(replay: list[tuple[int, str]]) -> list[dict[str, Any]]:
    return [orjson.loads(text) for _, text in replay]


async def test_seqs_count_each_streams_events_and_are_written_into_the_text(make_log: MakeLog) -> None:
    log = make_log()
    assert (await log.apositions(["feed", "post.1"])).seqs == {"feed": 0, "post.1": 0}
    sent = await log.apublish([events.post_created({"id": 9}), like(1, 1), like(1, 2), events.post_created({"id": 10})])
    assert sent == 4
    assert log.publish([like(2, 1)]) == 1  # the synchronous road numbers in the same log
    positions = await log.apositions(["feed", "post.1", "post.2", "post.3"])
    assert positions.seqs == {"feed": 2, "post.1": 2, "post.2": 1, "post.3": 0}
    assert log.positions(["feed"]) == streams.Positions(positions.epoch, {"feed": 2})

    backlog = await log.aread_since({"feed": 0, "post.1": 0})
    assert backlog.lost == []
    feed = parsed(backlog.recovered["feed"])
    assert [(e["stream"], e["seq"], e["type"], e["post"]["id"]) for e in feed] == [
        ("feed", 1, "post.created", 9),
        ("feed", 2, "post.created", 10),
    ]
    assert [seq for seq, _ in backlog.recovered["post.1"]] == [1, 2]
    # stream and seq come first in the text; the rest is the event as built.
    text = backlog.recovered["post.1"][0][1]
    assert text == events.stamp(like(1, 1).text, "post.1", 1)[: text.index('"ts"')] + text[text.index('"ts"') :]
    assert text.startswith('{"stream":"post.1","seq":1,"type":"post.likes"')


async def test_one_stream_s_seq_is_its_seq_in_the_positions(make_log: MakeLog) -> None:
    log = make_log()
    assert (log.seq("feed"), await log.aseq("feed")) == (0, 0)  # a stream that never had an event
    await log.apublish([events.post_created({"id": 9}), like(1, 1), like(1, 2)])
    positions = await log.apositions(["feed", "post.1", "post.2"])
    assert positions.seqs == {"feed": 1, "post.1": 2, "post.2": 0}
    for stream, seq in positions.seqs.items():
        assert (log.seq(stream), await log.aseq(stream)) == (seq, seq)


async def test_a_count_not_newer_than_one_already_numbered_is_dropped(make_log: MakeLog) -> None:
    log = make_log()
    assert await log.apublish([like(1, 3)]) == 1
    # Older and equal versions are never numbered, alone or in a batch with newer ones.
    assert await log.apublish([like(1, 2), like(1, 3)]) == 0
    assert await log.apublish([like(1, 1), like(1, 4), like(1, 2)]) == 1
    comment = events.comment_likes(post_id=1, comment_id=5, like_count=1, version=1)
    assert await log.apublish([comment]) == 1  # another object's version, in the same stream
    backlog = await log.aread_since({"post.1": 0})
    assert [(e["seq"], e["type"], e["version"]) for e in parsed(backlog.recovered["post.1"])] == [
        (1, "post.likes", 3),
        (2, "post.likes", 4),
        (3, "comment.likes", 1),
    ]


async def test_the_backlog_keeps_the_last_events_and_resumes_from_inside_it_only(make_log: MakeLog) -> None:
    log = make_log(backlog=5)
    await log.apublish([like(1, version) for version in range(1, 9)])  # seqs 1..8, backlog 4..8
    backlog = await log.aread_since({"post.1": 3, "feed": 0})
    assert [seq for seq, _ in backlog.recovered["post.1"]] == [4, 5, 6, 7, 8]
    assert [e["version"] for e in parsed(backlog.recovered["post.1"])] == [4, 5, 6, 7, 8]
    assert backlog.recovered["feed"] == []
    assert backlog.seqs == {"post.1": 8, "feed": 0}
    # Seq 3 left the backlog: from position 2 it cannot be served. Position 9 is ahead.
    outside = await log.aread_since({"post.1": 2})
    ahead = await log.aread_since({"post.1": 9})
    assert (outside.lost, outside.recovered) == (["post.1"], {})
    assert (ahead.lost, ahead.recovered) == (["post.1"], {})
    assert (await log.aread_since({"post.1": 8})).recovered == {"post.1": []}


async def test_an_idle_stream_forgets_its_backlog_but_keeps_its_seq(make_log: MakeLog) -> None:
    log = make_log(idle_expiry=1)
    await log.apublish([like(1, 1), like(1, 2)])
    assert (await log.aread_since({"post.1": 0})).lost == []
    deadline = asyncio.get_running_loop().time() + 5
    while (await log.aread_since({"post.1": 0})).lost != ["post.1"]:
        assert asyncio.get_running_loop().time() < deadline, "the idle backlog never expired"
        await asyncio.sleep(0.1)
    # A socket that is up to date still is: nothing missed, nothing to replay.
    assert (await log.aread_since({"post.1": 2})).recovered == {"post.1": []}
    await log.apublish([like(1, 3)])
    assert (await log.apositions(["post.1"])).seqs == {"post.1": 3}


async def test_the_epoch_is_stable_and_differs_between_logs_that_do_not_share_history(make_log: MakeLog) -> None:
    first, second = make_log(), make_log()
    epoch = (await first.apositions([])).epoch
    await first.apublish([like(1, 1)])
    assert first.positions(["post.1"]).epoch == epoch == (await first.aread_since({"post.1": 0})).epoch
    assert (await second.apositions([])).epoch != epoch


@pytest.mark.needs_services
async def test_the_redis_epoch_changes_exactly_when_redis_lost_the_streams() -> None:
    log = _redis_log(1000, 3600)
    before = (await log.apositions([])).epoch
    await log.apublish([like(1, 1)])
    assert (await log.apositions([])).epoch == before
    _forget_keys(log)  # what a Redis restarted empty looks like to the log
    after = await log.apositions(["post.1"])
    assert after.epoch != before and after.seqs == {"post.1": 0}
    _forget_keys(log)
    await log.aclose()


async def test_two_publishers_racing_never_number_a_stale_count(make_log: MakeLog) -> None:
    """Two workers publish the counts of one post as their likes commit, in any interleaving."""
    log = make_log()
    other = log
    if not isinstance(log, MemoryStreamLog):
        # A second client on the same keys: a second worker sharing the Redis.
        other = type(log)(  # type: ignore[call-arg]
            host=log._host,  # type: ignore[attr-defined]
            prefix=log.prefix,  # type: ignore[attr-defined]
            channel=log._channel,  # type: ignore[attr-defined]
            backlog=1000,
            idle_expiry=3600,
        )
    versions = list(range(1, 401))
    random.Random(7).shuffle(versions)
    halves = [sorted(versions[:200]), sorted(versions[200:])]
    start = threading.Barrier(2)

    def publish_all(publisher: StreamLog, mine: list[int]) -> None:
        start.wait()
        for version in mine:
            publisher.publish([like(1, version)])

    # Two threads, as two requests of the embedded mode: their sends go back to this loop, the only
    # one the in-memory channel layer may be used from (it is not thread-safe).
    racing = sync_to_async(publish_all, thread_sensitive=False)
    await asyncio.gather(*(racing(publisher, mine) for publisher, mine in zip([log, other], halves, strict=True)))
    numbered = parsed((await log.aread_since({"post.1": 0})).recovered["post.1"])
    numbered_versions = [event["version"] for event in numbered]
    assert numbered_versions == sorted(set(numbered_versions))
    assert numbered_versions[-1] == 400
    assert [event["seq"] for event in numbered] == list(range(1, len(numbered) + 1))
    # Positive control: the race was real, some counts came after a newer one and were dropped.
    assert len(numbered) < 400


async def test_the_longest_round_reported_lately_is_the_one_read(make_log: MakeLog) -> None:
    log = make_log()
    assert log.round_time() is None and await log.around_time() is None, "no socket worker reported"
    await log.areport_round(0.3)
    await log.areport_round(0.1)  # another socket worker, with shorter rounds
    assert log.round_time() == await log.around_time() == 0.3
    await log.areport_round(0.4)
    assert log.round_time() == 0.4


async def test_a_round_report_counts_for_its_lifetime_only(make_log: MakeLog, monkeypatch: pytest.MonkeyPatch) -> None:
    from realtime import streams_memory, streams_redis

    for module in (streams_memory, streams_redis):
        monkeypatch.setattr(module, "ROUND_REPORT_TTL_SECONDS", 0.3)
    log = make_log()
    await log.areport_round(0.4)
    assert await log.around_time() == 0.4
    deadline = asyncio.get_running_loop().time() + 5
    while await log.around_time() is not None:
        assert asyncio.get_running_loop().time() < deadline, "the report never expired"
        await asyncio.sleep(0.05)
    # Once the long round's report is over, a shorter one stands.
    await log.areport_round(0.1)
    assert await log.around_time() == 0.1
