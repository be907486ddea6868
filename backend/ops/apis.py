"""The metrics endpoint for Prometheus (health lives in config.health)."""

from django.http import HttpRequest, HttpResponse

from ops import metrics


def metrics_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")
