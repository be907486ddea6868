"""What a client controls on /ws/: a NUL in the session cookie, ids past 64 bits."""

import json
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from accounts.models import User
from realtime.runtime import stop_runtime
from testing.plugin import DEFAULT_ORIGIN, session_cookie_for

pytestmark = pytest.mark.django_db(transaction=True)


async def _hello(cookie: str) -> dict[str, Any]:
    from config.asgi import application

    headers = [(b"origin", DEFAULT_ORIGIN.encode()), (b"host", b"127.0.0.1"), (b"cookie", cookie.encode())]
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    try:
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        return dict(orjson.loads(await communicator.receive_from(timeout=5)))
    finally:
        await communicator.disconnect()
        # The hub's tasks (and their database and Redis connections) end with the test's loop.
        await stop_runtime()
        await sync_to_async(connections.close_all)()


async def test_a_real_session_cookie_names_the_user(make_user: Callable[..., User]) -> None:
    # Positive control for the cookie below: the same road resolves a real session.
    user = await sync_to_async(make_user)()
    hello = await _hello(await sync_to_async(session_cookie_for)(user))
    assert hello["user"] == {"id": user.pk, "username": user.username}


@pytest.mark.parametrize("cookie", ['sessionid="\\000abcdefghijklmnop"', 'sessionid="abcdefgh\\000ijk"'])
async def test_an_escaped_nul_in_the_session_cookie_connects_anonymously(cookie: str) -> None:
    hello = await _hello(cookie)
    assert hello["type"] == "hello" and hello["user"] is None


@pytest.mark.parametrize("post_id", [2**63, 2**64 - 1, 2**64, 10**30])
async def test_subscribing_to_an_id_past_64_bits_is_an_error_frame(
    live_socket: Callable[..., Any], post_id: int
) -> None:
    socket = await live_socket()
    # Sent as text: past 64 bits orjson cannot encode the number (the server reads it as a float).
    error = await socket.request(json.dumps({"type": "subscribe", "post_ids": [post_id]}), "error")
    assert error["code"] == "invalid_fields"
    # The socket stays, and the largest id that fits still subscribes.
    subscribed = await socket.request({"type": "subscribe", "post_ids": [2**63 - 1]}, "subscribed")
    assert subscribed["posts"] == []
