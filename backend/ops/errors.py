"""Error answers: a 4xx with a readable message for what a client did, a 503 when a
dependency is down, never a 500 for either."""

import logging
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = "5"
DATABASE_DOWN = "The database is unavailable; try again shortly."


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("database unavailable", extra={"error": repr(exc)})
        return Response({"detail": DATABASE_DOWN}, status=503, headers={"Retry-After": RETRY_AFTER_SECONDS})
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    return drf_exception_handler(exc, context)


class DatabaseUnavailableMiddleware:
    """The same 503 for views outside DRF (admin, the app's index) when the database is down."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> JsonResponse | None:
        if not isinstance(exc, OperationalError | InterfaceError):
            return None
        logger.warning("database unavailable", extra={"error": repr(exc), "path": request.path})
        response = JsonResponse({"detail": DATABASE_DOWN}, status=503)
        response["Retry-After"] = RETRY_AFTER_SECONDS
        return response


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """CSRF_FAILURE_VIEW: the refusal as JSON in DRF's shape, not Django's HTML page."""
    return JsonResponse({"detail": f"CSRF Failed: {reason}"}, status=403)
