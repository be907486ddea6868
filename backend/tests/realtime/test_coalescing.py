"""The coalescing queue alone: what is kept, in which order, and when it is due."""

import pytest

from realtime.coalescing import CoalescingQueue
from realtime.events import Event


# Built by hand, without the builders' timestamps, so that equal events compare equal.
def like(post_id: int, version: int) -> Event:
    return Event(
        f"post.{post_id}",
        f'{{"like":{version}}}',
        coalesce_key=f"post.likes:{post_id}",
        version=version,
        waits_to_coalesce=True,
    )


def leaderboard(version: int) -> Event:
    return Event("leaderboard", f'{{"leaderboard":{version}}}', coalesce_key="leaderboard", version=version)


def deleted(comment_id: int) -> Event:
    return Event("post.1", f'{{"deleted":{comment_id}}}')


def test_like_counts_of_one_object_keep_the_highest_version_in_the_first_place() -> None:
    queue = CoalescingQueue(window=0.1, limit=100)
    for event in (like(1, 1), deleted(10), like(1, 3), like(2, 1), like(1, 2)):
        queue.add(event, now=0.0)
    assert queue.take_all() == [like(1, 3), deleted(10), like(2, 1)]


def test_other_events_keep_commit_order_and_are_never_merged() -> None:
    queue = CoalescingQueue(window=0.1, limit=100)
    sent = [deleted(3), deleted(1), deleted(3), deleted(2)]
    for event in sent:
        queue.add(event, now=0.0)
    assert queue.take(now=0.0) == sent


def test_a_count_that_arrives_alone_is_due_at_once() -> None:
    queue = CoalescingQueue(window=0.25, limit=100)
    assert queue.due_at() is None
    queue.add(like(1, 1), now=10.0)
    assert queue.due_at() == 10.0
    assert queue.take(now=10.0) == [like(1, 1)]
    assert queue.due_at() is None


def test_a_count_within_the_window_of_the_last_one_taken_waits_for_its_end() -> None:
    queue = CoalescingQueue(window=0.25, limit=100)
    queue.add(like(1, 1), now=10.0)
    assert queue.take(now=10.0) == [like(1, 1)]
    queue.add(like(1, 2), now=10.1)
    # Counted from when the last count was taken, not from this one's arrival.
    assert queue.due_at() == 10.25
    assert queue.take(now=10.1) == []
    queue.add(like(1, 3), now=10.2)
    assert queue.due_at() == 10.25
    assert queue.take(now=10.25) == [like(1, 3)]
    # Positive control for the wait: another object's count, alone, is due at once meanwhile.
    queue.add(like(1, 4), now=10.3)
    queue.add(like(2, 1), now=10.3)
    assert queue.due_at() == 10.3
    assert queue.take(now=10.3) == [like(2, 1)]
    assert queue.due_at() == 10.5


def test_a_burst_sends_its_first_count_at_once_then_only_the_highest_at_the_window_end() -> None:
    queue = CoalescingQueue(window=0.25, limit=100)
    sent: list[tuple[float, Event]] = []

    def drain(now: float) -> None:
        due = queue.due_at()
        if due is not None and due <= now:
            sent.extend((now, event) for event in queue.take(now))

    # Ten versions 20 ms apart, the publisher taking whatever is due as each arrives.
    for version in range(1, 11):
        now = 1.0 + (version - 1) * 0.02
        queue.add(like(1, version), now=now)
        drain(now)
    assert sent == [(1.0, like(1, 1))]
    assert queue.due_at() == 1.25
    drain(1.25)
    assert sent == [(1.0, like(1, 1)), (1.25, like(1, 10))]
    assert queue.due_at() is None


def test_a_count_is_due_at_once_again_a_window_after_the_last_one_taken() -> None:
    queue = CoalescingQueue(window=0.25, limit=100)
    queue.add(like(1, 1), now=0.0)
    assert queue.take(now=0.0) == [like(1, 1)]
    queue.add(like(1, 2), now=0.24)
    assert queue.due_at() == 0.25
    assert queue.take(now=0.25) == [like(1, 2)]
    queue.add(like(1, 3), now=0.5)
    assert queue.due_at() == 0.5


def test_other_events_leave_without_the_counts_still_early_in_their_window() -> None:
    queue = CoalescingQueue(window=1.0, limit=100)
    queue.add(like(1, 1), now=0.0)
    queue.add(like(2, 1), now=0.6)
    assert queue.take(now=0.6) == [like(1, 1), like(2, 1)]
    queue.add(like(1, 2), now=0.65)
    queue.add(like(2, 2), now=0.65)
    queue.add(deleted(1), now=0.7)
    assert queue.due_at() == 0.7
    # Both objects are hot; neither window is half over: the comment goes alone.
    assert queue.take(now=0.7) == [deleted(1)]
    assert queue.due_at() == 1.6
    queue.add(deleted(2), now=1.1)
    # Post 1's window (since 0.6) is past half at 1.1 and shares the round trip; with post 2 too.
    assert queue.take(now=1.1) == [like(1, 2), like(2, 2), deleted(2)]
    assert queue.due_at() is None
    # Those counts started their next windows together, at 1.1.
    queue.add(like(1, 3), now=1.2)
    queue.add(like(2, 3), now=1.3)
    assert queue.due_at() == 2.1
    assert queue.take(now=2.1) == [like(1, 3), like(2, 3)]


def test_the_leaderboard_replaces_a_queued_one_but_does_not_wait() -> None:
    # Its push has its own pace and promise (within 1 s of a like); a window would only add delay.
    queue = CoalescingQueue(window=0.25, limit=100)
    queue.add(like(1, 1), now=3.0)
    assert queue.take(now=3.0) == [like(1, 1)]
    queue.add(like(1, 2), now=3.05)
    queue.add(leaderboard(1), now=3.1)
    assert queue.due_at() == 3.1
    queue.add(leaderboard(2), now=3.1)
    assert queue.take(now=3.1) == [leaderboard(2)]
    assert queue.due_at() == 3.25


def test_a_zero_window_sends_like_counts_at_once() -> None:
    queue = CoalescingQueue(window=0.0, limit=100)
    queue.add(like(1, 1), now=5.0)
    assert queue.due_at() == 5.0
    assert queue.take(now=5.0) == [like(1, 1)]
    queue.add(like(1, 2), now=5.0)
    assert queue.due_at() == 5.0
    assert queue.take(now=5.0) == [like(1, 2)]


def test_take_all_empties_the_queue() -> None:
    queue = CoalescingQueue(window=60.0, limit=100)
    queue.add(like(1, 1), now=0.0)
    assert queue.take(now=0.0) == [like(1, 1)]
    queue.add(like(1, 2), now=1.0)
    assert len(queue) == 1
    assert queue.take(now=1.0) == []
    assert queue.take_all() == [like(1, 2)]
    assert len(queue) == 0
    assert queue.due_at() is None


def test_unsent_events_go_back_in_front_of_newer_ones_and_are_due_at_once() -> None:
    queue = CoalescingQueue(window=60.0, limit=100)
    queue.add(like(2, 1), now=0.0)
    assert queue.take(now=0.0) == [like(2, 1)]
    unsent = [like(1, 5), deleted(1)]
    # Post 2 is hot (a count of it was taken at 0.0): its newer count waits its window.
    queue.add(like(2, 2), now=6.0)
    assert queue.due_at() == 60.0
    queue.add(deleted(2), now=7.0)
    queue.add(like(1, 6), now=7.0)
    queue.put_back(unsent, now=7.0)
    assert queue.due_at() == 7.0
    # The newer count of post 1 takes the unsent count's place: never numbered after a newer one.
    # Post 2's count had not been sent: it keeps its window.
    assert queue.take(now=7.0) == [like(1, 6), deleted(1), deleted(2)]
    assert queue.due_at() == 60.0
    assert queue.take_all() == [like(2, 2)]


def test_an_unsent_count_older_than_a_queued_one_is_not_sent_again() -> None:
    queue = CoalescingQueue(window=60.0, limit=100)
    queue.add(like(1, 9), now=0.0)
    queue.put_back([like(1, 4)], now=1.0)
    assert queue.take(now=1.0) == [like(1, 9)]


def test_the_queue_is_bounded_and_drops_the_oldest() -> None:
    queue = CoalescingQueue(window=0.1, limit=3)
    # Positive control: up to the limit nothing is dropped.
    assert [queue.add(deleted(n), now=0.0) for n in (1, 2, 3)] == [0, 0, 0]
    assert queue.add(deleted(4), now=0.0) == 1
    assert queue.put_back([deleted(0)], now=0.0) == 1
    assert queue.take(now=0.0) == [deleted(2), deleted(3), deleted(4)]


def test_a_coalesced_count_takes_no_room() -> None:
    queue = CoalescingQueue(window=0.1, limit=2)
    assert [queue.add(like(1, version), now=0.0) for version in range(1, 50)] == [0] * 49
    assert queue.take_all() == [like(1, 49)]


def test_the_memory_of_counts_taken_keeps_only_the_last_window() -> None:
    queue = CoalescingQueue(window=0.25, limit=100)
    for post_id in range(1, 51):
        queue.add(like(post_id, 1), now=0.0)
    queue.take(now=0.0)
    # Positive control: within the window every object taken is remembered (and hot).
    assert len(queue._last_taken) == 50
    queue.add(like(1, 2), now=0.1)
    assert queue.due_at() == 0.25
    queue.take(now=0.25)
    # A window on, the 49 others are forgotten: their next count would go at once anyway.
    assert list(queue._last_taken) == ["post.likes:1"]
    queue.add(like(2, 1), now=0.5)
    assert list(queue._last_taken) == []


def test_the_memory_of_counts_taken_holds_at_most_limit_objects() -> None:
    queue = CoalescingQueue(window=60.0, limit=2)
    for post_id in (1, 2, 3):
        queue.add(like(post_id, 1), now=0.0)
        assert queue.take(now=0.0) == [like(post_id, 1)]
    assert len(queue._last_taken) == 2
    # Positive control: a remembered object's count waits its window.
    queue.add(like(3, 2), now=1.0)
    assert queue.due_at() == 60.0
    # The oldest object was forgotten: its count goes at once, as if it were quiet.
    queue.add(like(1, 2), now=1.0)
    assert queue.due_at() == 1.0
    assert queue.take(now=1.0) == [like(1, 2)]


@pytest.mark.parametrize(("window", "limit"), [(-0.1, 10), (0.1, 0)])
def test_a_negative_window_or_an_empty_limit_is_refused(window: float, limit: int) -> None:
    with pytest.raises(ValueError, match="window must be"):
        CoalescingQueue(window=window, limit=limit)
