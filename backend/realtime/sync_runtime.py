"""The realtime side of a worker without an event loop: the WSGI processes serving the REST API.

After commit, a request's events are queued for one publisher thread of the process
(realtime.publish.ThreadPublisher), which coalesces like counts across all request threads for
a short window and sends on the stream log's synchronous road: no Redis round trip on the
request path, no `async_to_sync` event loop per publish. A like's leaderboard refresh is handed
to one ticker thread that coalesces the asks and keeps to the cross-worker minimum interval, as
the socket workers' loop ticker does (realtime.leaderboard). Both threads start on first use,
in the worker after a fork. When the worker exits, the publisher sends what it still holds and
the ticker ends after the refresh it is running, if any, rather than being cut off mid-statement
by the interpreter's exit.
"""

import atexit
import logging
import threading

from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from django.db import close_old_connections

from realtime import runtime, window
from realtime.events import Event
from realtime.leaderboard import registered_refresh
from realtime.publish import ThreadPublisher

logger = logging.getLogger(__name__)

# A refresh is a statement or two; an exit does not wait on a stuck one for longer than this.
TICKER_STOP_TIMEOUT_SECONDS = 5.0


class SyncRuntime:
    def __init__(self) -> None:
        self.publisher = ThreadPublisher(window=window.configured())
        self._leaderboard_wanted = threading.Event()
        self._ticker: threading.Thread | None = None
        self._ticker_lock = threading.Lock()
        self._stopping = threading.Event()

    def submit(self, event: Event) -> None:
        self.publisher.submit(event)

    def stop(self) -> None:
        """Send the queued events and end the leaderboard ticker, each within a bounded wait."""
        with self._ticker_lock:
            self._stopping.set()
            ticker = self._ticker
        self._leaderboard_wanted.set()
        if ticker is not None:
            ticker.join(TICKER_STOP_TIMEOUT_SECONDS)
        self.publisher.stop()

    def request_leaderboard_refresh(self) -> None:
        self._leaderboard_wanted.set()
        if self._ticker is None:
            with self._ticker_lock:
                if self._ticker is None and not self._stopping.is_set():
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
            while not self._stopping.is_set():
                try:
                    result = leaderboard_refresh(min_interval=min_interval)
                except Exception:
                    logger.exception("leaderboard refresh failed")
                    self._stopping.wait(min_interval)
                    break
                finally:
                    # Hand the connection back to the pool between refreshes.
                    close_old_connections()
                if result.retry_after is None:
                    break
                # Another worker refreshed moments ago, maybe before our like committed.
                self._stopping.wait(result.retry_after)
            if self._stopping.is_set():
                return


def install() -> SyncRuntime | None:
    """Give this process the thread runtime, when its channel layer is Redis pub/sub.

    gunicorn's worker leaves through the interpreter's normal exit, so the atexit hook flushes
    the publisher after the last request was answered.
    """
    layer = get_channel_layer()
    if not isinstance(layer, RedisPubSubChannelLayer):
        return None
    installed = SyncRuntime()
    runtime.install_thread_runtime(installed)
    atexit.register(installed.stop)
    return installed
