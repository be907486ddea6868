"""The waiting helpers of testing/plugin.py: they return what came true, or fail saying what did not."""

import itertools

import pytest

from testing.plugin import eventually, eventually_async


def test_eventually_returns_the_first_true_value() -> None:
    calls = itertools.count(1)
    assert eventually(lambda: max(0, next(calls) - 2), "the third call") == 1


def test_eventually_fails_naming_what_and_the_last_value() -> None:
    with pytest.raises(AssertionError, match=r"the queue drained: not so within 0\.1s; last value: 0"):
        eventually(lambda: 0, "the queue drained", timeout=0.1)


def test_eventually_counts_ignored_errors_as_not_yet_and_names_the_last() -> None:
    calls = itertools.count(1)

    def connect() -> str:
        if next(calls) < 3:
            raise ConnectionRefusedError("not listening yet")
        return "connected"

    assert eventually(connect, "the server listens", ignoring=(OSError,)) == "connected"

    def refuse() -> str:
        raise ConnectionRefusedError("not listening")

    with pytest.raises(AssertionError, match=r"the server listens: .* last error: ConnectionRefusedError"):
        eventually(refuse, "the server listens", timeout=0.1, ignoring=(OSError,))


def test_other_errors_fail_at_once() -> None:
    with pytest.raises(ZeroDivisionError):
        eventually(lambda: 1 / 0, "never", timeout=30)


async def test_eventually_async_awaits_async_conditions() -> None:
    calls = itertools.count(1)

    async def ready() -> bool:
        return next(calls) >= 3

    assert await eventually_async(ready, "the third call") is True
    with pytest.raises(AssertionError, match=r"nothing: not so within 0\.1s; last value: False"):
        await eventually_async(lambda: False, "nothing", timeout=0.1)
