"""Throttles key on what a client cannot forge: the address the trusted proxies saw, the user."""

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.throttling import ScopedRateThrottle

from accounts.models import User
from tests.factories import make_post

pytestmark = pytest.mark.django_db
_addresses = (f"203.0.113.{i}" for i in itertools.count(1))


@pytest.fixture(autouse=True)
def rates(monkeypatch: pytest.MonkeyPatch) -> None:
    # DRF reads the rates once, into the class: set them there.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "2/min", "write": "100/min", "like": "3/min"})


def _login(forwarded_for: str, remote: str = "10.0.0.2") -> Any:
    body = {"username": "nobody", "password": "wrong"}
    return Client().post(
        "/api/auth/login/",
        body,
        content_type="application/json",
        HTTP_X_FORWARDED_FOR=forwarded_for,
        REMOTE_ADDR=remote,
    )


def test_behind_one_proxy_a_forged_forwarded_for_gets_no_fresh_bucket(settings: Any) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client_address = next(_addresses)
    # nginx appends the address it saw; whatever the client put before it is forged.
    answers = [_login(f"198.51.100.{i}, {client_address}").status_code for i in range(3)]
    assert answers == [400, 400, 429]
    assert int(_login(f"198.51.100.9, {client_address}")["Retry-After"]) > 0
    # Positive control: another real client has a bucket of its own.
    assert _login(f"198.51.100.1, {next(_addresses)}").status_code == 400


def test_by_default_no_proxy_is_trusted_and_the_forwarded_for_header_is_ignored() -> None:
    remote = next(_addresses)
    answers = [_login(next(_addresses), remote=remote).status_code for _ in range(3)]
    assert answers == [400, 400, 429]


def test_likes_are_throttled_per_user(make_user: Callable[..., User]) -> None:
    author, fan, other = make_user(), make_user(), make_user()
    posts = [make_post(author) for _ in range(4)]
    client = Client()
    client.force_login(fan)
    answers = [client.post(f"/api/posts/{post.pk}/like/").status_code for post in posts]
    assert answers == [200, 200, 200, 429]
    throttled = client.delete(f"/api/posts/{posts[0].pk}/like/")
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    # Positive control: another user's likes are counted apart.
    client.force_login(other)
    assert client.post(f"/api/posts/{posts[0].pk}/like/").status_code == 200
