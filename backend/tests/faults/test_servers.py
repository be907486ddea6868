"""The fault tests' own Redis servers: each gets a port of its own, and a start that lost its
port to another server fails there, not later as a group that never forms."""

from pathlib import Path

import pytest

from tests.faults import servers
from tests.faults.servers import RedisProcess

pytestmark = pytest.mark.needs_services


def test_no_two_servers_are_given_the_same_port(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = iter([31_000, 31_000, 31_001])
    monkeypatch.setattr(servers.random, "randint", lambda low, high: next(drawn))
    monkeypatch.setattr(servers, "_given", set())
    # Both are free when asked: nothing binds between the two calls, as in a group's setup.
    assert [servers.free_port(), servers.free_port()] == [31_000, 31_001]


def test_a_server_whose_port_is_taken_fails_to_start(tmp_path: Path) -> None:
    first = RedisProcess(tmp_path / "first").start()
    try:
        assert first.client().ping(), "control: a server on a port of its own starts"
        with pytest.raises(RuntimeError, match="exited"):
            RedisProcess(tmp_path / "second", port=first.port).start()
    finally:
        first.stop()
