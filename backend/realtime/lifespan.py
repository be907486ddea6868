"""ASGI lifespan: start this worker's realtime runtime with the server; stop it, and close the
loop's database pool, with it."""

import logging
from typing import Any

from core import async_database
from realtime.runtime import get_runtime, stop_runtime

logger = logging.getLogger(__name__)


async def lifespan_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await get_runtime()
            except Exception as exc:
                logger.exception("realtime runtime failed to start")
                await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await stop_runtime()
            await async_database.close_pool()
            await send({"type": "lifespan.shutdown.complete"})
            return
