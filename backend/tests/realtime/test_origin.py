"""The websocket Origin check is Django's CSRF origin rule: scheme, host and port.

One table, two roads: a login POST through Django's CSRF check, and the websocket check for
the same Origin, Host and scheme. They must agree, and agree with the expected answer.
"""

from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from realtime.origin import origin_allowed

pytestmark = pytest.mark.django_db(transaction=True)

TRUSTED = ["https://app.example.com", "https://*.example.org"]
HOSTS = ["127.0.0.1", "localhost", "testserver", "feed.example.net", "app.example.com"]

CASES = [
    # origin, host, secure, allowed
    ("http://127.0.0.1:8000", "127.0.0.1:8000", False, True),
    ("http://127.0.0.1:8001", "127.0.0.1:8000", False, False),
    ("http://127.0.0.1", "127.0.0.1:8000", False, False),
    ("https://127.0.0.1:8000", "127.0.0.1:8000", False, False),
    ("http://localhost:8000", "127.0.0.1:8000", False, False),
    ("https://feed.example.net", "feed.example.net", True, True),
    ("http://feed.example.net", "feed.example.net", True, False),
    ("https://feed.example.net:8443", "feed.example.net", True, False),
    ("https://app.example.com", "feed.example.net", True, True),
    ("http://app.example.com", "feed.example.net", True, False),
    ("https://live.example.org", "feed.example.net", True, True),
    ("https://live.example.org.evil.test", "feed.example.net", True, False),
    ("null", "127.0.0.1:8000", False, False),
    ("http://127.0.0.1:8000", "not-allowed.test", False, False),
]


@pytest.fixture(autouse=True)
def origins(settings: Any) -> None:
    for name, value in {"CSRF_TRUSTED_ORIGINS": TRUSTED, "ALLOWED_HOSTS": HOSTS}.items():
        setattr(settings, name, value)


def _csrf_allows(origin: str, host: str, secure: bool) -> bool:
    client = Client(enforce_csrf_checks=True)
    client.get("/api/auth/csrf/", secure=secure)
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/auth/login/",
        data={"username": "nobody", "password": "wrong"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
        HTTP_ORIGIN=origin,
        HTTP_HOST=host,
        HTTP_REFERER=f"{origin}/",
        secure=secure,
    )
    # 400: past CSRF, refused for the credentials; 403: refused by CSRF (or the host, 400).
    return response.status_code == 400 and "password" in response.content.decode().lower()


def _handshake_scope(origin: str | None, host: str, secure: bool) -> dict[str, Any]:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": "websocket", "scheme": "wss" if secure else "ws", "headers": headers}


@pytest.mark.parametrize(("origin", "host", "secure", "allowed"), CASES)
def test_the_websocket_and_csrf_agree_on_every_origin(origin: str, host: str, secure: bool, allowed: bool) -> None:
    assert origin_allowed(_handshake_scope(origin, host, secure)) is allowed
    assert _csrf_allows(origin, host, secure) is allowed


def test_a_handshake_without_origin_is_refused() -> None:
    assert origin_allowed(_handshake_scope(None, "127.0.0.1:8000", False)) is False


async def test_the_real_handshake_applies_the_rule() -> None:
    from config.asgi import application

    for origin, accepted in (("http://127.0.0.1:8000", True), ("http://127.0.0.1:9999", False)):
        headers = [(b"origin", origin.encode()), (b"host", b"127.0.0.1:8000")]
        communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        assert connected is accepted, origin
        await communicator.disconnect()
