"""Client frames on /ws/: each malformed one refused with the code docs/protocol.md names for it."""

import json
from typing import Any

import pytest

from realtime.client_messages import MAX_POST_ID, ProtocolError, parse_frame, parse_post_ids, parse_resume


def _refusal(parse: Any, *args: Any) -> str:
    with pytest.raises(ProtocolError) as refused:
        parse(*args)
    assert refused.value.detail, "every refusal tells the client why"
    return refused.value.code


# -- frames -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "data", "code"),
    [
        (None, None, "invalid_json"),
        ("", None, "invalid_json"),
        ("not json", None, "invalid_json"),
        (None, b"\xff\xfe", "invalid_json"),
        ("[1, 2]", None, "invalid_fields"),
        ('"ping"', None, "invalid_fields"),
        ("null", None, "invalid_fields"),
        ('{"no": "type"}', None, "invalid_fields"),
        ('{"type": 1}', None, "invalid_fields"),
        ('{"type": null}', None, "invalid_fields"),
        ('{"type": "ping", "pad": "' + "x" * 70_000 + '"}', None, "frame_too_large"),
        (None, b'{"type": "ping", "pad": "' + b"x" * 70_000 + b'"}', "frame_too_large"),
    ],
)
def test_a_malformed_frame_is_refused(text: str | None, data: bytes | None, code: str) -> None:
    assert _refusal(parse_frame, text, data) == code


@pytest.mark.parametrize(
    ("text", "data"),
    [('{"type": "ping"}', None), (None, b'{"type": "ping"}'), ('{"type": "ping"}', b"ignored when text is there")],
)
def test_a_json_object_with_a_string_type_is_read_as_text_or_bytes(text: str | None, data: bytes | None) -> None:
    assert parse_frame(text, data) == {"type": "ping"}


def test_an_unknown_type_is_well_formed_here() -> None:
    # The session, which knows the types it handles, answers unknown_type.
    assert parse_frame('{"type": "dance", "steps": 3}', None) == {"type": "dance", "steps": 3}


def test_the_frame_limit_counts_encoded_bytes_not_characters(settings: Any) -> None:
    limit = settings.REALTIME["MAX_FRAME_BYTES"]
    prefix, suffix = '{"type": "ping", "pad": "', '"}'
    room = limit - len(prefix) - len(suffix)
    at_the_limit = prefix + "x" * room + suffix
    assert parse_frame(at_the_limit, None)["type"] == "ping", "control: a frame of exactly the limit passes"
    assert _refusal(parse_frame, at_the_limit + " ", None) == "frame_too_large"
    # "é" is one character and two bytes: half as many of them fill the frame.
    two_byte = prefix + "é" * (room // 2 + 1) + suffix
    assert len(two_byte) < limit
    assert _refusal(parse_frame, two_byte, None) == "frame_too_large"


# -- post ids ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("post_ids", "code"),
    [
        (None, "invalid_fields"),
        ([], "invalid_fields"),
        ("1", "invalid_fields"),
        ({"1": 1}, "invalid_fields"),
        ([1, "2"], "invalid_fields"),
        ([True], "invalid_fields"),
        ([1.0], "invalid_fields"),
        ([0], "invalid_fields"),
        ([-5], "invalid_fields"),
        ([MAX_POST_ID + 1], "invalid_fields"),
        ([None], "invalid_fields"),
        (list(range(1, 102)), "too_many_follows"),
    ],
)
def test_malformed_post_ids_are_refused(post_ids: Any, code: str) -> None:
    message = {"type": "subscribe"} if post_ids is None else {"type": "subscribe", "post_ids": post_ids}
    assert _refusal(parse_post_ids, message) == code


def test_post_ids_from_1_to_the_largest_64_bit_key_pass_without_repeats_in_order() -> None:
    assert parse_post_ids({"post_ids": [MAX_POST_ID, 1, 7, 1, MAX_POST_ID]}) == [MAX_POST_ID, 1, 7]


def test_post_ids_up_to_the_follow_cap_pass(settings: Any) -> None:
    cap = settings.REALTIME["MAX_FOLLOWED_POSTS"]
    assert parse_post_ids({"post_ids": list(range(1, cap + 1))}) == list(range(1, cap + 1))
    assert _refusal(parse_post_ids, {"post_ids": list(range(1, cap + 2))}) == "too_many_follows"


def test_an_id_past_64_bits_read_from_json_is_refused() -> None:
    # Past 64 bits the server's JSON reader gives a float: refused as any non-integer is.
    message = parse_frame(json.dumps({"type": "subscribe", "post_ids": [2**64]}), None)
    assert _refusal(parse_post_ids, message) == "invalid_fields"
    control = parse_frame(json.dumps({"type": "subscribe", "post_ids": [MAX_POST_ID]}), None)
    assert parse_post_ids(control) == [MAX_POST_ID]


# -- resume ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        {"positions": {"feed": 0}},
        {"epoch": 7, "positions": {"feed": 0}},
        {"epoch": None, "positions": {"feed": 0}},
        {"epoch": "e"},
        {"epoch": "e", "positions": [["feed", 0]]},
        {"epoch": "e", "positions": {"feed": -1}},
        {"epoch": "e", "positions": {"feed": True}},
        {"epoch": "e", "positions": {"feed": 1.5}},
        {"epoch": "e", "positions": {"feed": "3"}},
        {"epoch": "e", "positions": {"no spaces": 0}},
        {"epoch": "e", "positions": {"": 0}},
        {"epoch": "e", "positions": {"x" * 101: 0}},
    ],
)
def test_a_malformed_resume_is_refused(message: dict[str, Any]) -> None:
    assert _refusal(parse_resume, {"type": "resume", **message}) == "invalid_fields"


def test_a_resume_names_at_most_every_followed_post_plus_the_feed_and_the_leaderboard(settings: Any) -> None:
    limit = settings.REALTIME["MAX_FOLLOWED_POSTS"] + 2
    positions = {f"post.{i}": 0 for i in range(1, limit - 1)} | {"feed": 3, "leaderboard": 0}
    assert len(positions) == limit
    assert parse_resume({"epoch": "e", "positions": positions}) == ("e", positions), "control: at the limit"
    too_many = positions | {f"post.{limit}": 0}
    assert _refusal(parse_resume, {"epoch": "e", "positions": too_many}) == "invalid_fields"


def test_a_well_formed_resume_passes_even_for_streams_the_server_does_not_have() -> None:
    # Unknown but well-formed names are answered with resync, not with an error frame.
    positions = {"feed": 12, "post.7": 0, "no-such-stream": 3}
    assert parse_resume({"type": "resume", "epoch": "", "positions": positions}) == ("", positions)
    assert parse_resume({"type": "resume", "epoch": "e", "positions": {}}) == ("e", {})
