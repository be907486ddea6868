"""A client hanging up during the handshake is not a server error: no error log, no traceback."""

import asyncio
import logging
import socket
import struct
from collections.abc import Iterator

import pytest
import uvicorn

from testing.plugin import eventually_async
from tests.realtime.test_real_server import open_client, raw_handshake

pytestmark = pytest.mark.django_db(transaction=True)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def server_logs() -> Iterator[Records]:
    """Every record of the server and the app, whatever their loggers' propagation."""
    records = Records()
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error", "realtime", "django")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(records)
        logger.setLevel(logging.INFO)
    try:
        yield records
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(records)
            logger.setLevel(level)


async def _drop(raw: socket.socket, how: str) -> None:
    if how == "after_upgrade":
        # The server runs on this loop: wait for its 101 answer without blocking it.
        raw.setblocking(False)
        await asyncio.wait_for(asyncio.get_running_loop().sock_recv(raw, 12), 5)
    if how != "closed":
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    raw.close()


@pytest.mark.parametrize("how", ["reset", "closed", "after_upgrade"])
async def test_handshakes_dropped_by_the_client_log_no_error(
    server: str,
    uvicorn_server: uvicorn.Server,
    server_logs: Records,
    how: str,
) -> None:
    for _ in range(20):
        await _drop(raw_handshake(server), how)
    healthy = await open_client(server)
    state = uvicorn_server.server_state
    await eventually_async(lambda: len(state.connections) == 1, "the aborted handshakes ended on the server")
    await healthy.close()
    # Positive control: the healthy socket's own lines were captured.
    assert any(r.getMessage() == "socket connected" for r in server_logs.records)
    loud = [r for r in server_logs.records if r.levelno >= logging.WARNING or r.exc_info]
    assert loud == [], [f"{r.name} {r.levelname} {r.getMessage()} {r.exc_info}" for r in loud]
