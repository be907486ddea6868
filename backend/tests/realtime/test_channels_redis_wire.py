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


async def receive_hub_message(layer: Any, channel: str) -> events.HubMessage:
    message = events.HubMessage.from_layer(await asyncio.wait_for(layer.receive(channel), 3))
    assert message is not None, "the layer delivered a message of another type"
    return message


async def test_what_the_log_publishes_the_layers_own_receive_reads() -> None:
    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel(prefix="wire-test.")
    await layer.group_add(events.EVENTS_GROUP, channel)
    log = streams.get_log()
    event = events.post_created({"id": 1})
    try:
        # The async road (a uvicorn worker) and the synchronous one (a WSGI worker, no loop).
        assert await log.apublish([event]) == 1
        first = await receive_hub_message(layer, channel)
        assert await asyncio.to_thread(log.publish, [event, events.post_likes(post_id=3, like_count=1, version=1)]) == 2
        second = await receive_hub_message(layer, channel)
    finally:
        await layer.group_discard(events.EVENTS_GROUP, channel)
    epoch = (await log.apositions([])).epoch
    assert first.epoch == second.epoch == epoch
    [created] = first.events
    assert (created.stream, created.text) == ("feed", events.stamp(event.text, "feed", created.seq))
    assert [(e.stream, e.seq) for e in second.events] == [("feed", created.seq + 1), ("post.3", second.events[1].seq)]
    assert second.events[1].seq > 0 and isinstance(second.events[1].text, str)


async def test_a_process_without_a_loop_publishes_on_the_synchronous_road() -> None:
    """A WSGI worker's publish_now: no publisher on a loop, one blocking round trip from its thread."""
    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel(prefix="wire-test.")
    await layer.group_add(events.EVENTS_GROUP, channel)
    event = events.post_likes(post_id=7, like_count=3, version=4)
    try:
        await asyncio.to_thread(publish.publish_now, event)
        message = await receive_hub_message(layer, channel)
    finally:
        await layer.group_discard(events.EVENTS_GROUP, channel)
    [likes] = message.events
    assert (likes.stream, likes.text) == ("post.7", events.stamp(event.text, "post.7", likes.seq))
