"""DRF's scoped throttle, its log in Redis when the deployment has Redis, open while it is down.

With Redis, each client's log is a sorted set kept by one script (core.throttle_redis): one
round trip per request. Without it (the embedded default), DRF's own log in the cache.

A throttle is protection, not the product: while Redis is down or failing over, reading the
log raised and every throttled request (likes, posts, logins) answered 500. Without its log
the throttle lets the request through, and says so in the log.
"""

import functools
import logging
from typing import Any

from django.conf import settings
from django.core.cache import caches
from redis.exceptions import RedisError
from rest_framework import throttling

from config import django_redis_cache
from core import throttle_redis

logger = logging.getLogger(__name__)


@functools.cache
def redis_log() -> throttle_redis.Log:
    """This process's log script, on the cache's Redis client."""
    return throttle_redis.Log(django_redis_cache.redis_client(caches["default"]))


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    _wait: float | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            if settings.REDIS_SERVERS is None:
                return bool(super().allow_request(request, view))
            return self._allow_in_redis(request, view)
        except (RedisError, OSError) as error:
            logger.warning("throttle cache unavailable; request let through", extra={"error": repr(error)})
            return True

    def _allow_in_redis(self, request: Any, view: Any) -> bool:
        # DRF's ScopedRateThrottle.allow_request: the view names the scope, the scope the rate.
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        key = self.get_cache_key(request, view)
        allowed, duration = self.num_requests, self.duration
        if key is None or allowed is None or duration is None:  # no key, or no rate for the scope
            return True
        verdict = redis_log().record(self.cache.make_key(key), now=self.timer(), duration=duration, allowed=allowed)
        self._wait = verdict.wait
        return verdict.allowed

    def wait(self) -> float | None:
        if settings.REDIS_SERVERS is None:
            return super().wait()
        return self._wait
