"""Health for load balancers and orchestrators, in the composition root that wires the parts.

- /api/health/live/: the process serves requests (liveness). Asks no dependency, so a
  database outage does not get healthy workers restarted.
- /api/health/: the worker can do its job (readiness): the database and the channel layer
  answer. The body names each component and its state, nothing more; why one failed (host
  names, driver messages) goes to the log, not to whoever asked.
"""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from realtime.publish import probe_channel_layer, push_health

logger = logging.getLogger(__name__)
PROBE_TIMEOUT_SECONDS = 2.0


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_channel_layer() -> None:
    async_to_sync(probe_channel_layer)(PROBE_TIMEOUT_SECONDS)


CHECKS = {"database": _check_database, "channel_layer": _check_channel_layer}


def _state(component: str) -> dict[str, bool]:
    try:
        CHECKS[component]()
    except Exception as exc:  # noqa: BLE001 - reported as a state, detailed in the log
        extra: dict[str, Any] = {"component": component, "error": f"{type(exc).__name__}: {exc}"}
        if component == "channel_layer":
            extra["pushes"] = push_health.snapshot()
        logger.warning("health check failed", extra=extra)
        return {"ok": False}
    return {"ok": True}


_State = inline_serializer("ComponentState", {"ok": serializers.BooleanField()})


class ReadinessApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        operation_id="health_ready",
        responses={
            (status, "application/json"): inline_serializer(
                f"Health{status}",
                {"ok": serializers.BooleanField(), "database": _State, "channel_layer": _State},
            )
            for status in (200, 503)
        },
    )
    def get(self, request: Request) -> Response:
        body: dict[str, Any] = {name: _state(name) for name in CHECKS}
        ok = all(state["ok"] for state in body.values())
        return Response({"ok": ok, **body}, status=200 if ok else 503)


class LivenessApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        operation_id="health_live",
        responses={200: inline_serializer("Liveness", {"ok": serializers.BooleanField()})},
    )
    def get(self, request: Request) -> Response:
        return Response({"ok": True})
