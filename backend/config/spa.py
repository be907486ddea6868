"""Fallback routes: the browser app's index.html, and JSON 404s under /api/."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


def api_not_found(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"detail": "No such endpoint."}, status=404)


def spa_index(request: HttpRequest) -> HttpResponse:
    index = settings.FRONTEND_DIST / "index.html"
    try:
        body = index.read_bytes()
    except FileNotFoundError:
        return HttpResponse(
            "<h1>KarmaFeed</h1><p>The browser app is not built yet: run <code>make run</code> "
            "(or <code>npm run build</code> in frontend/). The API is at <a href='/api/docs/'>/api/docs/</a>.</p>",
            status=503,
        )
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    # index.html names the hashed assets of the current build: never serve a stale one.
    response["Cache-Control"] = "no-cache"
    return response
