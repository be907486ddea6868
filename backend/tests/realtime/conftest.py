"""The app on a real uvicorn, for the tests that need real sockets and the server's own framing."""

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import uvicorn


@pytest.fixture
async def uvicorn_server(settings: Any, serve_app: Callable[..., Awaitable[uvicorn.Server]]) -> uvicorn.Server:
    """uvicorn as `make run` serves, with a small socket buffer and a short round, in this loop."""
    settings.REALTIME = {**settings.REALTIME, "SOCKET_BUFFER_LIMIT": 256 * 1024, "FLUSH_INTERVAL": 0.05}
    return await serve_app()


@pytest.fixture
def server(uvicorn_server: uvicorn.Server) -> str:
    """The address of the running uvicorn."""
    return f"127.0.0.1:{uvicorn_server.config.port}"
