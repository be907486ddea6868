"""Health and metrics endpoints for load balancers and Prometheus."""

from typing import Any

from asgiref.sync import async_to_sync
from django.db import connection
from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ops import metrics
from realtime.publish import probe_channel_layer, push_health

PROBE_TIMEOUT_SECONDS = 2.0


def _check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "vendor": connection.vendor}


def _check_channel_layer() -> dict[str, Any]:
    try:
        backend = async_to_sync(probe_channel_layer)(PROBE_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}", "pushes": push_health.snapshot()}
    return {"ok": True, "backend": backend, "pushes": push_health.snapshot()}


class HealthApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        responses={
            200: inline_serializer(
                "Health",
                {
                    "ok": serializers.BooleanField(),
                    "database": serializers.DictField(),
                    "channel_layer": serializers.DictField(),
                },
            ),
            503: inline_serializer("HealthFailing", {"ok": serializers.BooleanField()}),
        }
    )
    def get(self, request: Request) -> Response:
        database = _check_database()
        layer = _check_channel_layer()
        ok = database["ok"] and layer["ok"]
        return Response({"ok": ok, "database": database, "channel_layer": layer}, status=200 if ok else 503)


def metrics_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")
