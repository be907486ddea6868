"""The WSGI worker's thread runtime: its leaderboard ticker refreshes when a like asks, and a
stopping worker ends it rather than leaving it to the interpreter's exit."""

import threading
from typing import Any

import pytest

from realtime import sync_runtime
from realtime.leaderboard import registered_refresh
from testing.plugin import eventually


def tickers_since(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in before and t.name == "leaderboard-ticker"]


@pytest.mark.django_db(transaction=True)
def test_the_ticker_refreshes_when_asked_and_ends_when_the_runtime_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    real_refresh = registered_refresh()
    refreshes: list[Any] = []

    def recording_refresh(*, min_interval: float) -> Any:
        result = real_refresh(min_interval=min_interval)
        refreshes.append(result)
        return result

    monkeypatch.setattr(sync_runtime, "registered_refresh", lambda: recording_refresh)
    before = set(threading.enumerate())
    thread_runtime = sync_runtime.SyncRuntime()
    thread_runtime.request_leaderboard_refresh()
    eventually(lambda: refreshes, "a refresh once a like asked")
    (ticker,) = tickers_since(before)
    assert ticker.is_alive()  # control: between asks the ticker waits for the next one
    thread_runtime.stop()
    assert not ticker.is_alive()
    # A like answered while the worker stops does not start another ticker.
    thread_runtime.request_leaderboard_refresh()
    assert tickers_since(before) == []
