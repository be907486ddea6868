"""A throttle whose counts live in a Redis that does not answer lets the request through."""

import pytest
import redis
from django.contrib.auth.models import AnonymousUser
from django.core.cache import caches
from django.test import override_settings
from rest_framework import throttling
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from core.throttling import ScopedRateThrottle
from tests.faults.servers import free_port


class LikeView(APIView):
    throttle_scope = "like"


def dead_cache() -> dict[str, object]:
    return {
        "default": {
            "BACKEND": "config.django_redis_cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }


@pytest.mark.parametrize("throttle_class", [throttling.ScopedRateThrottle, ScopedRateThrottle])
def test_the_stock_throttle_fails_and_ours_lets_the_request_through(throttle_class: type) -> None:
    request = APIRequestFactory().post("/api/posts/1/like/")
    request.user = AnonymousUser()
    with override_settings(CACHES=dead_cache()):
        throttle = throttle_class()
        throttle.cache = caches["default"]  # DRF binds the cache when the class is defined
        if throttle_class is throttling.ScopedRateThrottle:
            with pytest.raises(redis.ConnectionError):
                throttle.allow_request(request, LikeView())
        else:
            assert throttle.allow_request(request, LikeView()) is True
