"""The coalescing window that follows the delivery rounds: its arithmetic, with the clock passed in."""

import pytest

from realtime.window import FOLLOW_INTERVAL_SECONDS, FollowingWindow


def test_the_window_is_the_round_kept_between_its_bounds() -> None:
    window = FollowingWindow(shortest=0.05, longest=0.25)
    assert window.current == 0.25, "the longest until a round is read"
    assert window.follow(0.125, now=0.0) == 0.125
    assert window.follow(0.01, now=1.0) == 0.05
    assert window.follow(0.4, now=2.0) == 0.25
    assert window.current == 0.25


def test_with_no_round_reported_the_window_is_the_longest() -> None:
    window = FollowingWindow(shortest=0.05, longest=0.25)
    window.follow(0.1, now=0.0)
    assert window.follow(None, now=1.0) == 0.25


def test_the_round_is_read_again_once_an_interval() -> None:
    window = FollowingWindow(shortest=0.05, longest=0.25)
    assert window.wants_reading(now=100.0), "never read yet"
    window.follow(0.1, now=100.0)
    assert not window.wants_reading(now=100.0 + FOLLOW_INTERVAL_SECONDS / 2)
    assert window.wants_reading(now=100.0 + FOLLOW_INTERVAL_SECONDS)


def test_equal_bounds_fix_the_window_and_read_nothing() -> None:
    fixed = FollowingWindow(shortest=0.25, longest=0.25)
    assert not fixed.follows and not fixed.wants_reading(now=0.0)
    # Positive control: a window with room to move wants its first reading.
    assert FollowingWindow(shortest=0.0, longest=0.25).wants_reading(now=0.0)


@pytest.mark.parametrize(("shortest", "longest"), [(0.3, 0.25), (-0.1, 0.25)])
def test_bounds_out_of_order_are_refused(shortest: float, longest: float) -> None:
    with pytest.raises(ValueError, match="shortest"):
        FollowingWindow(shortest=shortest, longest=longest)
