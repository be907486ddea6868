"""The websocket URL: every socket on /ws/ gets its own `SocketSession`."""

from django.urls import path

from realtime.consumers import SocketSession

websocket_urlpatterns = [
    # Channels' URLRouter routes ASGI applications with Django's path(), typed for views.
    path("ws/", SocketSession.as_asgi()),  # type: ignore[arg-type]
]
