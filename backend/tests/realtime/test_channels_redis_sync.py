"""The blocking publish reaches a hub subscribed through channels-redis's own pub/sub layer.

It relies on how channels-redis names a group's Redis channel and picks its shard; an upgrade
that changes either fails here, not in production.
"""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer

from realtime import events, publish
from realtime.channels_redis_sync import SyncGroupSender
from realtime.sync_runtime import SyncRuntime

pytestmark = pytest.mark.needs_services


async def test_a_blocking_group_send_reaches_the_async_layers_group_member() -> None:
    layer = get_channel_layer()
    assert isinstance(layer, RedisPubSubChannelLayer)
    member = await layer.new_channel(prefix="hub.")
    await layer.group_add("sync-road-test", member)
    sender = SyncGroupSender(layer)
    try:
        # From a thread without a loop, as a WSGI worker sends.
        await sync_to_async(sender.group_send, thread_sensitive=False)("sync-road-test", {"type": "t", "n": 1})
        message = await asyncio.wait_for(layer.receive(member), timeout=5)
        assert message == {"type": "t", "n": 1}
        # Positive control for the channel name: another group's member hears nothing.
        other = await layer.new_channel(prefix="hub.")
        await layer.group_add("sync-road-other", other)
        await sync_to_async(sender.group_send, thread_sensitive=False)("sync-road-test", {"type": "t", "n": 2})
        assert (await asyncio.wait_for(layer.receive(member), timeout=5))["n"] == 2
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(other), timeout=0.3)
    finally:
        sender.close()
        await layer.group_discard("sync-road-test", member)


async def test_the_sync_runtime_sends_events_as_the_loop_publisher_does() -> None:
    layer = get_channel_layer()
    assert isinstance(layer, RedisPubSubChannelLayer)
    member = await layer.new_channel(prefix="hub.")
    await layer.group_add(publish.EVENTS_GROUP, member)
    runtime = SyncRuntime(SyncGroupSender(layer))
    event = events.post_likes(post_id=7, like_count=3, version=4)
    sent: list[bool] = []
    thread = threading.Thread(target=lambda: sent.append(runtime.send([event])))
    thread.start()
    try:
        message = await asyncio.wait_for(layer.receive(member), timeout=5)
    finally:
        thread.join()
        await layer.group_discard(publish.EVENTS_GROUP, member)
    assert sent == [True]
    assert message == {
        "type": publish.MESSAGE_TYPE,
        "events": [[event.group, event.text, event.coalesce_key, event.version]],
    }
