"""Event builders and the wire formats: stamped texts, batch frames, the stream log's message to the hubs."""

import copy

import msgpack
import orjson

from realtime import events
from realtime.events import HubMessage, NumberedEvent


def test_a_stamped_event_is_the_same_json_with_its_stream_and_seq_first() -> None:
    event = events.post_likes(post_id=7, like_count=3, version=4)
    stamped = events.stamp(event.text, "post.7", 12)
    assert stamped.startswith('{"stream":"post.7","seq":12,')
    assert orjson.loads(stamped) == {**orjson.loads(event.text), "stream": "post.7", "seq": 12}


def test_a_batch_frame_carries_its_events_in_order_and_one_event_goes_alone() -> None:
    texts = [events.post_likes(post_id=1, like_count=n, version=n).text for n in (1, 2, 3)]
    frame = orjson.loads(events.batch(texts))
    assert frame["type"] == "batch"
    assert [e["like_count"] for e in frame["events"]] == [1, 2, 3]
    assert events.batch(texts[:1]) == texts[0]


def test_builders_encode_once_with_the_group_and_coalescing_of_each_event() -> None:
    likes = events.comment_likes(post_id=2, comment_id=9, like_count=5, version=6)
    assert (likes.group, likes.coalesce_key, likes.version) == ("post.2", "comment.likes:9", 6)
    created = events.post_created({"id": 3})
    assert (created.group, created.coalesce_key) == (events.FEED_GROUP, None)
    viewers = events.post_viewers(post_id=2, count=4)
    assert (viewers.group, viewers.coalesce_key) == ("post.2", None)
    payload = orjson.loads(likes.text)
    assert payload["type"] == "comment.likes" and isinstance(payload["ts"], float)


def _message() -> HubMessage:
    return HubMessage(
        "epoch-1",
        [NumberedEvent("feed", 5, '{"stream":"feed","seq":5,"type":"x"}'), NumberedEvent("post.1", 0, '{"type":"y"}')],
    )


def test_a_hub_message_reads_back_by_name_through_the_redis_layers_msgpack() -> None:
    sent = _message()
    # channels-redis packs with msgpack, which writes each NumberedEvent as a plain array.
    received = msgpack.unpackb(msgpack.packb(sent.to_layer(), use_bin_type=True), raw=False)
    assert received["events"][0] == ["feed", 5, '{"stream":"feed","seq":5,"type":"x"}']
    read = HubMessage.from_layer(received)
    assert read == sent
    assert read is not None and (read.events[1].stream, read.events[1].seq) == ("post.1", 0)


def test_a_hub_message_reads_back_through_the_in_memory_layers_copy() -> None:
    sent = _message()
    assert HubMessage.from_layer(copy.deepcopy(sent.to_layer())) == sent


def test_a_message_of_another_type_is_not_a_hub_message() -> None:
    other = {**_message().to_layer(), "type": "websocket.send"}
    assert HubMessage.from_layer(other) is None
    # Control: the same message with the hub's type is read.
    assert HubMessage.from_layer({**other, "type": events.HUB_MESSAGE_TYPE}) == _message()
