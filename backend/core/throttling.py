"""DRF's scoped throttle, open while the cache behind it (Redis) is down.

The throttle keeps its counts in the cache; while Redis is down or failing over, reading them
raised and every throttled request (likes, posts, logins) answered 500. A throttle is
protection, not the product: without its counts it lets the request through, and says so
in the log.
"""

import logging
from typing import Any

from redis.exceptions import RedisError
from rest_framework import throttling

logger = logging.getLogger(__name__)


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return bool(super().allow_request(request, view))
        except (RedisError, OSError) as error:
            logger.warning("throttle cache unavailable; request let through", extra={"error": repr(error)})
            return True
