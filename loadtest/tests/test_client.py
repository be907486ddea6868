"""The load client's pure parts: percentiles, the frame book, and folding a socket's frames."""

import orjson
import pytest

from loadtest.client import (
    BIN_SECONDS,
    BINS,
    FrameBook,
    PositionTracker,
    ResumeOutcome,
    fold,
    histogram_percentiles,
    missing_seqs,
    percentiles_of,
    positions_of,
    resume_outcome,
    streams_behind,
)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentiles_of(values) == {"count": 100, "p50": 50.0, "p95": 95.0, "p99": 99.0, "max": 100.0}


def test_percentiles_of_one_value_and_of_none() -> None:
    assert percentiles_of([7.0]) == {"count": 1, "p50": 7.0, "p95": 7.0, "p99": 7.0, "max": 7.0}
    assert percentiles_of([]) == {}


def test_histogram_percentiles_name_each_bins_upper_edge() -> None:
    bins = [0] * (BINS + 1)
    bins[9] = 90  # 90 events in (0.9 ms, 1.0 ms]
    bins[99] = 9  # 9 in (9.9 ms, 10 ms]
    bins[BINS] = 1  # 1 slower than the histogram's range
    found = histogram_percentiles(bins)
    assert found["count"] == 100
    assert found["p50"] == pytest.approx(10 * BIN_SECONDS)
    assert found["p95"] == pytest.approx(100 * BIN_SECONDS)
    assert found["p99"] == pytest.approx(100 * BIN_SECONDS)
    assert found["max"] == pytest.approx((BINS + 1) * BIN_SECONDS)
    assert histogram_percentiles([0] * 10) == {}


def frame(*events: dict) -> bytes:
    if len(events) == 1:
        return orjson.dumps(events[0])
    return orjson.dumps({"type": "batch", "events": list(events)})


def test_the_frame_book_parses_each_distinct_frame_once_and_unpacks_batches() -> None:
    book = FrameBook()
    batch = frame({"type": "post.likes", "ts": 5.0}, {"type": "post.created", "ts": 4.0}, {"type": "pong"})
    first = book.lookup(batch)
    assert book.lookup(batch) is first
    assert [e["type"] for e in first.events] == ["post.likes", "post.created", "pong"]
    assert (first.frame_id, first.oldest_ts, first.stamped_events) == (0, 4.0, 2)
    single = book.lookup(frame({"type": "pong"}))
    assert (single.frame_id, single.oldest_ts, single.stamped_events) == (1, None, 0)


def likes(post_id: int, like_count: int, version: int) -> dict:
    return {"type": "post.likes", "post_id": post_id, "like_count": like_count, "version": version}


def test_fold_applies_frames_in_order_as_a_browser_does() -> None:
    book = FrameBook()
    sequence = [
        book.lookup(
            frame({"type": "subscribed", "posts": [{"id": 1, "like_count": 2, "version": 2, "comment_count": 0}]})
        ).frame_id,
        book.lookup(frame(likes(1, 3, 3), likes(2, 9, 9))).frame_id,  # post 2 is not followed
        book.lookup(frame(likes(1, 6, 6))).frame_id,  # versions 4 and 5 never arrived
        book.lookup(frame(likes(1, 4, 4))).frame_id,  # late: older than what the socket shows
        book.lookup(frame({"type": "comment.created", "post_id": 1, "comment_count": 2})).frame_id,
        book.lookup(frame({"type": "comment.created", "post_id": 1, "comment_count": 1})).frame_id,
        book.lookup(frame({"type": "leaderboard", "entries": [{"rank": 1}]})).frame_id,
    ]
    state = fold(book, sequence)
    assert state.posts == {1: [6, 6, 2]}
    assert (state.stale, state.skipped, state.post_events) == (1, 2, 6)
    assert state.leaderboard == [{"rank": 1}]


def test_a_later_snapshot_only_moves_a_count_forward() -> None:
    book = FrameBook()
    sequence = [
        book.lookup(frame(likes(1, 1, 1))).frame_id,  # before the snapshot: not followed yet
        book.lookup(
            frame({"type": "subscribed", "posts": [{"id": 1, "like_count": 5, "version": 5, "comment_count": 3}]})
        ).frame_id,
        book.lookup(
            frame({"type": "subscribed", "posts": [{"id": 1, "like_count": 4, "version": 4, "comment_count": 1}]})
        ).frame_id,
    ]
    state = fold(book, sequence)
    assert state.posts == {1: [5, 5, 3]}
    assert (state.stale, state.skipped, state.post_events) == (0, 0, 1)


def ids(book: FrameBook, *frames: bytes) -> list[int]:
    return [book.lookup(f).frame_id for f in frames]


def test_positions_are_the_highest_seq_per_stream_from_hello_snapshots_and_events() -> None:
    book = FrameBook()
    sequence = ids(
        book,
        frame({"type": "hello", "epoch": "e1", "feed_seq": 7}),
        frame({"type": "leaderboard", "entries": [], "seq": 3}),
        frame({"type": "subscribed", "posts": [{"id": 4, "seq": 10}, {"id": 5, "seq": 0}]}),
        frame({**likes(4, 1, 1), "stream": "post.4", "seq": 11}, {"type": "post.viewers", "post_id": 4}),
        frame({**likes(4, 0, 0), "stream": "post.4", "seq": 9}),  # a repeat never moves a position back
        frame({"type": "post.created", "stream": "feed", "seq": 8}),
    )
    assert positions_of(book, sequence) == ("e1", {"feed": 8, "leaderboard": 3, "post.4": 11, "post.5": 0})


def test_positions_carry_what_a_socket_resumed_from_unless_the_epoch_changed() -> None:
    book = FrameBook()
    same = ids(book, frame({"type": "hello", "epoch": "e1", "feed_seq": 2}))
    assert positions_of(book, same, ("e1", {"feed": 1, "post.4": 6})) == ("e1", {"feed": 2, "post.4": 6})
    other = ids(book, frame({"type": "hello", "epoch": "e2", "feed_seq": 0}))
    assert positions_of(book, other, ("e1", {"feed": 1, "post.4": 6})) == ("e2", {"feed": 0})


def test_resume_outcome_counts_replayed_events_of_recovered_streams_before_the_subscribed_answer() -> None:
    book = FrameBook()
    sequence = ids(
        book,
        frame({"type": "hello", "epoch": "e1", "feed_seq": 2}),
        frame({"type": "resumed", "recovered": ["post.4", "feed"], "resync": ["post.9"]}),
        frame({"stream": "post.4", "seq": 7}, {"stream": "post.4", "seq": 8}, {"stream": "feed", "seq": 3}),
        frame({"stream": "post.9", "seq": 2}),  # not recovered: not a replay
        frame({"type": "subscribed", "posts": []}),
        frame({"stream": "post.4", "seq": 9}),  # live, after the answer
    )
    assert resume_outcome(book, sequence) == ResumeOutcome(recovered=2, resync=1, replayed=3)
    # Positive control's counterpart: a socket whose answer never came has no outcome.
    assert resume_outcome(book, sequence[:1]) is None


def test_fold_keeps_the_newest_leaderboard_when_a_replay_brings_an_older_one() -> None:
    book = FrameBook()
    sequence = ids(
        book,
        frame({"type": "leaderboard", "entries": [{"rank": 1, "new": True}], "seq": 5}),
        frame({"type": "leaderboard", "entries": [{"rank": 1, "old": True}], "seq": 4}),
    )
    assert fold(book, sequence).leaderboard == [{"rank": 1, "new": True}]
    assert fold(book, sequence[1:]).leaderboard == [{"rank": 1, "old": True}]


def test_a_tracker_reads_only_the_new_frames_and_ends_where_positions_of_does() -> None:
    book = FrameBook()
    sequence = ids(
        book,
        frame({"type": "hello", "epoch": "e1", "feed_seq": 7}),
        frame({"type": "subscribed", "posts": [{"id": 4, "seq": 10}]}),
    )
    tracker = PositionTracker(("e1", {"post.4": 3}))
    assert tracker.update(book, sequence) == ("e1", {"post.4": 10, "feed": 7})
    sequence += ids(book, frame({**likes(4, 1, 1), "stream": "post.4", "seq": 11}))
    assert tracker.update(book, sequence) == ("e1", {"post.4": 11, "feed": 7})
    assert tracker.frames_read == 3
    assert tracker.update(book, sequence) == positions_of(book, sequence, ("e1", {"post.4": 3}))


def test_streams_behind_names_each_stream_below_the_server_and_any_other_epoch() -> None:
    heads = ("e1", {"feed": 8, "leaderboard": 3, "post.4": 11, "post.5": 0})
    streams = ["feed", "leaderboard", "post.4"]
    assert streams_behind(("e1", {"feed": 8, "leaderboard": 3, "post.4": 11}), heads, streams) == {}
    behind = streams_behind(("e1", {"feed": 8, "post.4": 9}), heads, streams)
    assert behind == {"leaderboard": (None, 3), "post.4": (9, 11)}
    # Every position of another epoch counts for nothing.
    assert set(streams_behind(("e0", {"feed": 8, "leaderboard": 3, "post.4": 11}), heads, streams)) == set(streams)


def test_missing_seqs_are_the_holes_after_what_a_snapshot_or_a_resume_covers() -> None:
    book = FrameBook()
    sequence = ids(
        book,
        frame({"type": "hello", "epoch": "e1", "feed_seq": 7}),
        frame({"stream": "post.4", "seq": 5}),  # a replay from the resume position 3: seq 4 never came
        frame({"type": "subscribed", "posts": [{"id": 4, "seq": 6}, {"id": 9, "seq": 2}]}),
        frame({"stream": "post.4", "seq": 7}, {"stream": "post.4", "seq": 9}),  # 8 never came
        frame({"stream": "post.9", "seq": 3}),
        frame({"stream": "feed", "seq": 8}),
        frame({"type": "leaderboard", "stream": "leaderboard", "seq": 5, "entries": []}),
    )
    # Seq 4 is covered by the snapshot at 6; 8 is lost.
    assert missing_seqs(book, sequence, ("e1", {"post.4": 3})) == {"post.4": [8]}
    # Positive control: without the snapshot, the replay's hole shows too.
    assert missing_seqs(book, sequence[:2], ("e1", {"post.4": 3})) == {"post.4": [4]}


def test_an_event_numbered_after_the_snapshot_but_received_before_it_is_applied_on_top_of_it() -> None:
    book = FrameBook()
    snapshot = {
        "type": "subscribed",
        "posts": [{"id": 1, "like_count": 4, "version": 4, "comment_count": 2, "seq": 10}],
    }
    sequence = ids(
        book,
        frame({"type": "comment.created", "post_id": 1, "comment_count": 1, "stream": "post.1", "seq": 9}),  # replay
        frame({"type": "comment.created", "post_id": 1, "comment_count": 3, "stream": "post.1", "seq": 11}),  # live
        frame({**likes(1, 3, 3), "stream": "post.1", "seq": 8}),  # replay, older than the snapshot
        frame(snapshot),
    )
    state = fold(book, sequence)
    assert state.posts == {1: [4, 4, 3]}
    assert (state.before_snapshot, state.stale) == (1, 0)
    # Positive control: without the early event the snapshot's count stands.
    assert fold(book, sequence[2:]).posts == {1: [4, 4, 2]}
