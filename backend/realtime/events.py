"""Every server-to-client event and every wire format it travels in, each encoded to JSON once.

An Event carries its text already encoded; nothing downstream (the channel layer, the hub,
the sockets) encodes it again: the stream log writes the event's stream and seq into that
text (`stamp`), the hub joins texts into a batch frame (`batch`). `ts` is the server time the
event was built, after commit, in seconds since the epoch: an extension of the contract so
clients can measure delivery delay.

Between the stream log and the hubs, events travel as a `HubMessage` of `NumberedEvent`s
(the layout the Redis script in realtime/streams_redis.py writes too).
"""

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

FEED_GROUP = "feed"
LEADERBOARD_GROUP = "leaderboard"


POST_GROUP_PREFIX = "post."


def post_group(post_id: int) -> str:
    return f"{POST_GROUP_PREFIX}{post_id}"


@dataclass(frozen=True, slots=True)
class Event:
    group: str
    text: str
    # Events with the same key replace each other while they wait to be sent; the highest
    # version wins. None: the event is delivered as it is.
    coalesce_key: str | None = None
    version: int = 0
    # A like count: it may wait the publishers' coalescing window so that newer counts of the
    # same object replace it before it is numbered. Every other event is sent at once (the
    # leaderboard and presence keep their own pace and promises).
    waits_to_coalesce: bool = False


def encode(payload: dict[str, Any]) -> str:
    return orjson.dumps(payload, option=orjson.OPT_UTC_Z).decode()


def stamp(text: str, stream: str, seq: int) -> str:
    """The event text with its stream and seq in front (the Redis script does the same)."""
    return f'{{"stream":"{stream}","seq":{seq},{text[1:]}'


def batch(texts: list[str]) -> str:
    """One frame carrying several events, in order; a single event goes as it is."""
    if len(texts) == 1:
        return texts[0]
    # The events are JSON already: a batch is built by joining them, not re-encoding.
    return '{"type":"batch","events":[' + ",".join(texts) + "]}"


def _stamped(payload: dict[str, Any]) -> dict[str, Any]:
    payload["ts"] = round(time.time(), 6)
    return payload


def hello(user: dict[str, Any] | None, *, epoch: str, feed_seq: int | None) -> str:
    return encode({"type": "hello", "user": user, "epoch": epoch, "feed_seq": feed_seq})


def resumed(*, recovered: list[str], resync: list[str]) -> str:
    return encode({"type": "resumed", "recovered": recovered, "resync": resync})


def pong() -> str:
    return encode({"type": "pong"})


def error(code: str, detail: str) -> str:
    return encode({"type": "error", "code": code, "detail": detail})


def subscribed(posts: list[dict[str, Any]]) -> str:
    return encode({"type": "subscribed", "posts": posts})


def unsubscribed(post_ids: list[int]) -> str:
    return encode({"type": "unsubscribed", "post_ids": post_ids})


def post_created(post: dict[str, Any]) -> Event:
    return Event(FEED_GROUP, encode(_stamped({"type": "post.created", "post": post})))


def post_likes(*, post_id: int, like_count: int, version: int) -> Event:
    text = encode(_stamped({"type": "post.likes", "post_id": post_id, "like_count": like_count, "version": version}))
    return Event(
        post_group(post_id), text, coalesce_key=f"post.likes:{post_id}", version=version, waits_to_coalesce=True
    )


def comment_created(*, post_id: int, comment: dict[str, Any], comment_count: int) -> Event:
    payload = {"type": "comment.created", "post_id": post_id, "comment": comment, "comment_count": comment_count}
    return Event(post_group(post_id), encode(_stamped(payload)))


def comment_likes(*, post_id: int, comment_id: int, like_count: int, version: int) -> Event:
    payload = {
        "type": "comment.likes",
        "post_id": post_id,
        "comment_id": comment_id,
        "like_count": like_count,
        "version": version,
    }
    return Event(
        post_group(post_id),
        encode(_stamped(payload)),
        coalesce_key=f"comment.likes:{comment_id}",
        version=version,
        waits_to_coalesce=True,
    )


def post_deleted(*, post_id: int) -> Event:
    return Event(FEED_GROUP, encode(_stamped({"type": "post.deleted", "post_id": post_id})))


def post_restored(post: dict[str, Any]) -> Event:
    """A deleted post is back (an extension of the contract): the whole post, for its place in a feed."""
    return Event(FEED_GROUP, encode(_stamped({"type": "post.restored", "post": post})))


def comment_deleted(*, post_id: int, comment_id: int, comment_count: int) -> Event:
    payload = {"type": "comment.deleted", "post_id": post_id, "comment_id": comment_id, "comment_count": comment_count}
    return Event(post_group(post_id), encode(_stamped(payload)))


def comment_restored(*, post_id: int, comment: dict[str, Any], comment_count: int) -> Event:
    """A deleted comment is back (an extension of the contract): the whole comment, to fill its placeholder."""
    payload = {"type": "comment.restored", "post_id": post_id, "comment": comment, "comment_count": comment_count}
    return Event(post_group(post_id), encode(_stamped(payload)))


def post_viewers(*, post_id: int, count: int) -> Event:
    """Presence, not history: each worker builds it for its own followers of the post and hands
    it to its own hub, never to the stream log (no seq, not kept for resumes)."""
    text = encode(_stamped({"type": "post.viewers", "post_id": post_id, "count": count}))
    return Event(post_group(post_id), text)


def leaderboard_payload(*, window_hours: int, entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "leaderboard", "window_hours": window_hours, "entries": entries}


def leaderboard(*, window_hours: int, entries: list[dict[str, Any]], version: int) -> Event:
    text = encode(_stamped(leaderboard_payload(window_hours=window_hours, entries=entries)))
    return Event(LEADERBOARD_GROUP, text, coalesce_key="leaderboard", version=version)


# -- from the stream log to the hubs --------------------------------------------------------

# Every worker's hub is the one member of this channel-layer group.
EVENTS_GROUP = "karmafeed.events"
HUB_MESSAGE_TYPE = "karmafeed.event"


class NumberedEvent(NamedTuple):
    """One event as the stream log hands it to the hubs.

    A tuple because it travels as a three-item array: the channel layer's msgpack and the
    Redis script that numbers events both write it by position, in this order.
    """

    stream: str
    # One above the stream's previous event; 0 for an event in no stream (presence).
    seq: int
    # The encoded event; a numbered one has its stream and seq stamped in.
    text: str


@dataclass(frozen=True, slots=True)
class HubMessage:
    """The events numbered by one call of the stream log: one channel-layer message to every hub."""

    epoch: str
    events: list[NumberedEvent]

    def to_layer(self) -> dict[str, Any]:
        return {"type": HUB_MESSAGE_TYPE, "epoch": self.epoch, "events": self.events}

    @classmethod
    def from_layer(cls, message: Mapping[str, Any]) -> "HubMessage | None":
        """The message a hub received, or None for a message of another type."""
        if message.get("type") != HUB_MESSAGE_TYPE:
            return None
        return cls(message["epoch"], [NumberedEvent(*event) for event in message["events"]])
