"""What a client may send on /ws/: frames read, checked and refused before any of them acts.

Every check of a client frame on its own lives here, so the session acts only on messages
already known to be well formed, and each refusal is one `ProtocolError` whose code is the
one docs/protocol.md lists for error frames. Checks that depend on what the socket already
does (the follow cap across several subscribes, a type the session has no handler for) stay
with the session.
"""

from typing import Any

import orjson
from django.conf import settings

from realtime import streams

# Ids are 64-bit signed database keys: a larger number is no post's, and no database takes it.
MAX_POST_ID = 2**63 - 1


class ProtocolError(Exception):
    """A frame the server refuses: the client gets an error frame and the socket stays."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def parse_frame(text_data: str | None, bytes_data: bytes | None) -> dict[str, Any]:
    """The frame as a JSON object with a string "type"."""
    raw = text_data if text_data is not None else bytes_data
    if raw is None:
        raise ProtocolError("invalid_json", "Empty frame.")
    size = len(raw.encode()) if isinstance(raw, str) else len(raw)
    if size > settings.REALTIME["MAX_FRAME_BYTES"]:
        raise ProtocolError("frame_too_large", f"Frames are limited to {settings.REALTIME['MAX_FRAME_BYTES']} bytes.")
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError("invalid_json", "Frames must be JSON objects.") from exc
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("invalid_fields", 'Frames must be JSON objects with a string "type".')
    return message


def parse_post_ids(message: dict[str, Any]) -> list[int]:
    """The post ids of a subscribe or unsubscribe, without repeats, in the client's order."""
    ids = message.get("post_ids")
    if not isinstance(ids, list) or not ids:
        raise ProtocolError("invalid_fields", "post_ids must be a non-empty list of post ids.")
    if len(ids) > settings.REALTIME["MAX_FOLLOWED_POSTS"]:
        raise ProtocolError(
            "too_many_follows", f"A socket follows at most {settings.REALTIME['MAX_FOLLOWED_POSTS']} posts."
        )
    # type() rather than isinstance(): JSON true and false are bools, and bools are ints.
    if not all(type(i) is int and 0 < i <= MAX_POST_ID for i in ids):
        raise ProtocolError("invalid_fields", f"post_ids must contain integers from 1 to {MAX_POST_ID} only.")
    return list(dict.fromkeys(ids))


def parse_resume(message: dict[str, Any]) -> tuple[str, dict[str, int]]:
    """The epoch and the stream positions of a resume."""
    epoch, positions = message.get("epoch"), message.get("positions")
    if not isinstance(epoch, str):
        raise ProtocolError("invalid_fields", "resume needs the epoch of the hello frame, a string.")
    if not isinstance(positions, dict) or not all(
        streams.is_well_formed(name) and type(seq) is int and seq >= 0 for name, seq in positions.items()
    ):
        raise ProtocolError("invalid_fields", "positions must map stream names to integers >= 0.")
    # Every post a socket may follow, plus the feed and the leaderboard.
    limit = settings.REALTIME["MAX_FOLLOWED_POSTS"] + 2
    if len(positions) > limit:
        raise ProtocolError("invalid_fields", f"A resume names at most {limit} streams.")
    return epoch, positions
