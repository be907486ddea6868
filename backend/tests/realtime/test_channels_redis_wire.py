"""The stream log writes channels-redis's pub/sub wire format itself: the layer must read it.

If an upgrade of channels-redis changes the group channel names, the serializer or the shard
choice, these fail (realtime/channels_redis_wire.py holds that knowledge).
"""

import asyncio
from typing import Any

import pytest
from channels.layers import get_channel_layer

from realtime import events, publish, streams

pytestmark = pytest.mark.needs_services


async def receive_hub_message(layer: Any, channel: str) -> dict[str, Any]:
    return dict(await asyncio.wait_for(layer.receive(channel), 3))


async def test_what_the_log_publishes_the_layers_own_receive_reads() -> None:
    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel(prefix="wire-test.")
    await layer.group_add(streams.EVENTS_GROUP, channel)
    log = streams.get_log()
    event = events.post_created({"id": 1})
    try:
        # The async road (a uvicorn worker) and the synchronous one (a WSGI worker, no loop).
        assert await log.apublish([event]) == 1
        first = await receive_hub_message(layer, channel)
        assert await asyncio.to_thread(log.publish, [event, events.post_likes(post_id=3, like_count=1, version=1)]) == 2
        second = await receive_hub_message(layer, channel)
    finally:
        await layer.group_discard(streams.EVENTS_GROUP, channel)
    epoch = (await log.apositions([])).epoch
    assert first["type"] == second["type"] == streams.MESSAGE_TYPE
    assert first["epoch"] == second["epoch"] == epoch
    (stream, seq, text), *_ = first["events"]
    assert (stream, text) == ("feed", streams.stamp(event.text, "feed", seq))
    assert [(s, q) for s, q, _ in second["events"]] == [("feed", seq + 1), ("post.3", second["events"][1][1])]
    assert isinstance(second["events"][1][2], str)


async def test_a_process_without_a_loop_publishes_on_the_synchronous_road() -> None:
    """A WSGI worker's publish_now: no publisher on a loop, one blocking round trip from its thread."""
    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel(prefix="wire-test.")
    await layer.group_add(streams.EVENTS_GROUP, channel)
    event = events.post_likes(post_id=7, like_count=3, version=4)
    try:
        await asyncio.to_thread(publish.publish_now, event)
        message = await receive_hub_message(layer, channel)
    finally:
        await layer.group_discard(streams.EVENTS_GROUP, channel)
    [(stream, seq, text)] = message["events"]
    assert (stream, text) == ("post.7", streams.stamp(event.text, "post.7", seq))
