"""The websocket Origin check: Django's CSRF origin rule, applied to the handshake.

A browser page on another port or scheme of the same host is another origin: Django's CSRF
check refuses its POSTs, so its sockets are refused too, by the same code. The handshake's
headers and scheme are put into a request and given to CsrfViewMiddleware's origin check
(a private method: the table in tests/realtime/test_origin.py runs both roads and fails if
Django's rule and this one part), so ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS (with their
`*.` subdomains), X-Forwarded-Host and the proxy's HTTPS header all count as for HTTP.
"""

from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware


class _HandshakeRequest(HttpRequest):
    def __init__(self, scope: dict[str, Any], origin: str) -> None:
        super().__init__()
        self._scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
        for name, value in scope["headers"]:
            key = "HTTP_" + name.decode("latin1").upper().replace("-", "_")
            self.META[key] = value.decode("latin1")
        self.META["HTTP_ORIGIN"] = origin
        # Where get_host() looks when there is no Host header.
        server_name, server_port = scope.get("server") or ("", 0)
        self.META["SERVER_NAME"], self.META["SERVER_PORT"] = server_name, str(server_port)

    def _get_scheme(self) -> str:
        return self._scheme


def _last_origin(scope: dict[str, Any]) -> str | None:
    origin = None
    for name, value in scope["headers"]:
        if name == b"origin":
            origin = value.decode("latin1")
    return origin


def origin_allowed(scope: dict[str, Any]) -> bool:
    """True when the handshake's Origin is the site itself or one of its trusted origins."""
    origin = _last_origin(scope)
    if origin is None:
        return False
    csrf = CsrfViewMiddleware(lambda request: None)  # type: ignore[arg-type]
    return bool(csrf._origin_verified(_HandshakeRequest(scope, origin)))  # type: ignore[attr-defined]
