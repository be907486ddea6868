"""The inbound frame budget of a socket: a burst at once, then a steady rate."""

from realtime.token_bucket import TokenBucket


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_allows_the_burst_and_then_refuses() -> None:
    bucket = TokenBucket(rate=1.0, burst=5, clock=_Clock())
    assert [bucket.take() for _ in range(5)] == [True] * 5
    assert not bucket.take()
    assert not bucket.take(), "a refused take costs nothing and earns nothing"


def test_the_bucket_refills_at_its_rate() -> None:
    clock = _Clock()
    bucket = TokenBucket(rate=20.0, burst=3, clock=clock)
    assert all(bucket.take() for _ in range(3))
    assert not bucket.take()
    clock.now += 0.04  # not quite one token at 20 a second
    assert not bucket.take()
    clock.now += 0.02
    assert bucket.take(), "control: a token came back"
    assert not bucket.take()


def test_an_idle_bucket_fills_up_to_its_burst_and_no_further() -> None:
    clock = _Clock()
    bucket = TokenBucket(rate=10.0, burst=4, clock=clock)
    assert all(bucket.take() for _ in range(4))
    clock.now += 3600
    assert [bucket.take() for _ in range(5)] == [True] * 4 + [False]
