"""The realtime side of a worker without an event loop: the WSGI processes serving the REST API.

After commit, a request's events go to Redis from the request's own thread in one blocking
round trip (the stream log's synchronous road, realtime.publish.send_events_sync), not through
`async_to_sync`, which would start an event loop per publish. A like's leaderboard refresh is
handed to one thread of the process that coalesces the asks and keeps to the cross-worker
minimum interval, as the socket workers' loop ticker does (realtime.leaderboard).
"""

import logging
import threading
import time

from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from django.db import close_old_connections

from realtime import publish
from realtime.leaderboard import registered_refresh

logger = logging.getLogger(__name__)


class SyncRuntime:
    def __init__(self) -> None:
        self._leaderboard_wanted = threading.Event()
        self._ticker: threading.Thread | None = None
        self._ticker_lock = threading.Lock()

    def request_leaderboard_refresh(self) -> None:
        self._leaderboard_wanted.set()
        if self._ticker is None:
            with self._ticker_lock:
                if self._ticker is None:
                    # Started on first use, so it runs in the worker (after a fork), not in a master.
                    self._ticker = threading.Thread(
                        target=self._refresh_forever, name="leaderboard-ticker", daemon=True
                    )
                    self._ticker.start()

    def _refresh_forever(self) -> None:
        leaderboard_refresh = registered_refresh()
        min_interval = settings.REALTIME["LEADERBOARD_MIN_INTERVAL"]
        while True:
            self._leaderboard_wanted.wait()
            self._leaderboard_wanted.clear()
            while True:
                try:
                    result = leaderboard_refresh(min_interval=min_interval)
                except Exception:
                    logger.exception("leaderboard refresh failed")
                    time.sleep(min_interval)
                    break
                finally:
                    # Hand the connection back to the pool between refreshes.
                    close_old_connections()
                if result.retry_after is None:
                    break
                # Another worker refreshed moments ago, maybe before our like committed.
                time.sleep(result.retry_after)


def install() -> SyncRuntime | None:
    """Give this process the blocking road, when its channel layer is Redis pub/sub."""
    layer = get_channel_layer()
    if not isinstance(layer, RedisPubSubChannelLayer):
        return None
    runtime = SyncRuntime()
    publish.install_sync(runtime)
    return runtime
