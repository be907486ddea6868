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


def test_a_like_count_is_due_after_its_window_other_events_at_once() -> None:
    queue = CoalescingQueue(window=0.25, limit=100)
    assert queue.due_at() is None
    queue.add(like(1, 1), now=10.0)
    queue.add(like(1, 2), now=10.2)
    # The first count's window, not a new one for each newer count: a count waits at most the window.
    assert queue.due_at() == 10.25
    queue.add(deleted(1), now=10.21)
    assert queue.due_at() == 10.21


def test_other_events_leave_without_the_counts_still_early_in_their_window() -> None:
    queue = CoalescingQueue(window=1.0, limit=100)
    queue.add(like(1, 1), now=0.0)
    queue.add(like(2, 1), now=0.6)
    queue.add(deleted(1), now=0.7)
    # Post 1's count is past half its window and shares the round trip; post 2's keeps waiting.
    assert queue.take(now=0.7) == [like(1, 1), deleted(1)]
    assert queue.due_at() == 1.6
    queue.add(like(2, 2), now=1.0)
    assert queue.take(now=1.6) == [like(2, 2)]
    assert queue.due_at() is None


def test_the_leaderboard_replaces_a_queued_one_but_does_not_wait() -> None:
    # Its push has its own pace and promise (within 1 s of a like); a window would only add delay.
    queue = CoalescingQueue(window=0.25, limit=100)
    queue.add(like(1, 1), now=3.0)
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


def test_take_all_empties_the_queue() -> None:
    queue = CoalescingQueue(window=60.0, limit=100)
    queue.add(like(1, 1), now=0.0)
    assert len(queue) == 1
    assert queue.take(now=0.0) == []
    assert queue.take_all() == [like(1, 1)]
    assert len(queue) == 0
    assert queue.due_at() is None


def test_unsent_events_go_back_in_front_of_newer_ones_and_are_due_at_once() -> None:
    queue = CoalescingQueue(window=60.0, limit=100)
    unsent = [like(1, 5), deleted(1)]
    queue.add(deleted(2), now=0.0)
    queue.add(like(1, 6), now=0.0)
    queue.add(like(2, 1), now=0.0)
    queue.put_back(unsent, now=7.0)
    assert queue.due_at() == 7.0
    # The newer count of post 1 takes the unsent count's place: never numbered after a newer one.
    # Post 2's count had not been sent: it keeps its window.
    assert queue.take(now=7.0) == [like(1, 6), deleted(1), deleted(2)]
    assert queue.take_all() == [like(2, 1)]


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


@pytest.mark.parametrize(("window", "limit"), [(-0.1, 10), (0.1, 0)])
def test_a_negative_window_or_an_empty_limit_is_refused(window: float, limit: int) -> None:
    with pytest.raises(ValueError, match="window must be"):
        CoalescingQueue(window=window, limit=limit)
