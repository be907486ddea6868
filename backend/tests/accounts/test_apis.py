"""The account endpoints: csrf, signup, login, logout, me, and the throttle on login attempts."""

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import User
from testing.plugin import ContractClient

pytestmark = pytest.mark.django_db


def test_csrf_endpoint_sets_cookie(contract_client: Callable[..., ContractClient]) -> None:
    client = contract_client()
    response = client.get("/api/auth/csrf/")
    assert response.status_code in (200, 204)
    assert client.csrf_token


def test_signup_logs_in_and_me_answers(contract_client: Callable[..., ContractClient]) -> None:
    client = contract_client()
    response = client.post("/api/auth/signup/", {"username": "newbie", "password": "a fine passphrase"})
    assert response.status_code == 201
    user = response.json()
    assert user == {"id": user["id"], "username": "newbie"}
    assert client.get("/api/auth/me/").json() == user


def test_signup_refuses_taken_name_ignoring_case(alice: User, contract_client: Callable[..., ContractClient]) -> None:
    response = contract_client().post("/api/auth/signup/", {"username": "ALICE", "password": "a fine passphrase"})
    assert response.status_code == 400
    assert response.json() == {"username": ["That username is taken."]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "ab", "password": "a fine passphrase"}, "username"),
        ({"username": "x" * 31, "password": "a fine passphrase"}, "username"),
        ({"username": "bad name!", "password": "a fine passphrase"}, "username"),
        ({"username": "weakling", "password": "123"}, "password"),
        ({"username": "weakling", "password": "password"}, "password"),
        ({"username": "weakling"}, "password"),
        ({"username": 12345, "password": "a fine passphrase"}, "username"),
    ],
)
def test_signup_bad_input(contract_client: Callable[..., ContractClient], body: dict[str, Any], field: str) -> None:
    response = contract_client().post("/api/auth/signup/", body)
    assert response.status_code == 400
    assert field in response.json()


def test_login_with_a_wrong_password_is_refused(alice: User, contract_client: Callable[..., ContractClient]) -> None:
    client = contract_client()
    response = client.post("/api/auth/login/", {"username": "alice", "password": "wrong"})
    assert (response.status_code, response.json()) == (400, {"detail": "Wrong username or password."})
    assert client.get("/api/auth/me/").status_code in (401, 403)


def test_login_then_me_then_logout(alice: User, contract_client: Callable[..., ContractClient]) -> None:
    client = contract_client()
    response = client.post("/api/auth/login/", {"username": "alice", "password": "pw-alice"})
    assert response.status_code == 200
    assert response.json() == {"id": alice.pk, "username": "alice"}
    assert client.get("/api/auth/me/").json() == {"id": alice.pk, "username": "alice"}
    assert client.post("/api/auth/logout/").status_code == 204
    assert client.get("/api/auth/me/").status_code in (401, 403)


def test_login_needs_the_csrf_token_even_when_anonymous(
    alice: User, contract_client: Callable[..., ContractClient]
) -> None:
    client = contract_client()
    credentials = {"username": "alice", "password": "pw-alice"}
    assert client.post("/api/auth/login/", credentials, csrf=False).status_code == 403
    # Positive control: the same login with the token passes.
    assert client.post("/api/auth/login/", credentials).status_code == 200


def test_throttled_signup_answers_429_with_retry_after(
    contract_client: Callable[..., ContractClient], settings
) -> None:
    from django.core.cache import cache
    from rest_framework.settings import api_settings
    from rest_framework.throttling import ScopedRateThrottle

    cache.clear()
    rates: dict[str, Any] = {**api_settings.DEFAULT_THROTTLE_RATES, "auth": "2/min"}
    original = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = rates
    try:
        client = contract_client()
        statuses = [client.post("/api/auth/login/", {"username": "x", "password": "y"}).status_code for _ in range(3)]
        assert statuses == [400, 400, 429]
        response = client.post("/api/auth/login/", {"username": "x", "password": "y"})
        assert response.status_code == 429 and int(response["Retry-After"]) > 0
    finally:
        ScopedRateThrottle.THROTTLE_RATES = original
        cache.clear()
