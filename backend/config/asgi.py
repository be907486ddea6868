"""ASGI entry point: HTTP through Django (likes and the feed page on the loop where the deployment
allows it), /ws/ through the socket session (realtime.consumers), lifespan hooks."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before anything imports models.
django_http_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from feed.async_likes import with_async_likes  # noqa: E402
from feed.async_reads import with_async_reads  # noqa: E402
from ops.middleware import HttpConcurrencyLimit  # noqa: E402
from ops.request_body import RequestBodyDeadline  # noqa: E402
from realtime.lifespan import lifespan_app  # noqa: E402
from realtime.middleware import WebsocketEntry  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Likes and the feed page on the event loop where the deployment allows it
        # (feed.async_likes, feed.async_reads); for the rest, bodies are read in full, with a
        # deadline, before a request takes a slot.
        "http": with_async_likes(
            with_async_reads(
                RequestBodyDeadline(
                    HttpConcurrencyLimit(django_http_app, limit=settings.HTTP_MAX_CONCURRENCY),
                    timeout=settings.HTTP_BODY_TIMEOUT,
                    max_bytes=settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
                )
            )
        ),
        "websocket": WebsocketEntry(URLRouter(websocket_urlpatterns)),
        "lifespan": lifespan_app,
    }
)
