"""No answer of the app may be framed by another site (clickjacking).

Django's XFrameOptionsMiddleware sets X-Frame-Options for old browsers; this sets the CSP
`frame-ancestors` that current ones read. Both sit outside WhiteNoise in MIDDLEWARE, so the
built app's own files (index.html, its assets) carry them too.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

FRAME_ANCESTORS = "frame-ancestors 'none'"


class FrameAncestorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", FRAME_ANCESTORS)
        return response
