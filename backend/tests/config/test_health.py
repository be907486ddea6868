"""/api/health/ (readiness) and /api/health/live/ (liveness): names and states, details in logs."""

import logging
from typing import Any

import pytest
from django.test import Client

from testing.plugin import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def layer_down(settings: Any) -> str:
    """The channel layer pointed at a loopback port nothing listens on; its address."""
    port = free_port()
    address = f"redis://127.0.0.1:{port}/0"
    config = {"hosts": [{"address": address, "socket_connect_timeout": 0.5}], "prefix": "health-test"}
    layer = {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": config}
    settings.CHANNEL_LAYERS = {"default": layer}
    return address


def test_ready_names_each_component_and_its_state_only() -> None:
    response = Client().get("/api/health/")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "database": {"ok": True}, "channel_layer": {"ok": True}}


def test_live_answers_without_asking_the_dependencies(layer_down: str) -> None:
    response = Client().get("/api/health/live/")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


def test_a_failing_component_is_named_and_its_details_go_to_the_log(
    layer_down: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        response = Client().get("/api/health/")
    assert response.status_code == 503
    assert response.json() == {"ok": False, "database": {"ok": True}, "channel_layer": {"ok": False}}
    port = layer_down.rsplit(":", 1)[1].split("/")[0]
    assert port not in response.content.decode()
    logged = [r for r in caplog.records if getattr(r, "component", None) == "channel_layer"]
    assert logged and port in logged[0].error  # type: ignore[attr-defined]
