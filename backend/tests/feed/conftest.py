"""Fixtures of the tests that run one set of cases against every road (tests/feed/roads.py)."""

from collections.abc import Iterator

import pytest
from django.core import signals
from django.db import close_old_connections

from tests.feed.roads import LoopThread


@pytest.fixture
def connections_kept_open() -> Iterator[None]:
    """As Django's test client does: the test's transaction outlives each request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.stop()
