"""Request bodies a client can send are answered with a 4xx, never a 500."""

import pytest

from testing.plugin import ContractClient

pytestmark = pytest.mark.django_db


def _nested(depth: int) -> bytes:
    return b'{"content": ' + b"[" * depth + b"]" * depth + b"}"


def _post_raw(client: ContractClient, body: bytes) -> object:
    return client.django.post(
        "/api/posts/", data=body, content_type="application/json", HTTP_X_CSRFTOKEN=client.csrf_token
    )


def test_deeply_nested_json_is_a_400(as_alice: ContractClient) -> None:
    response = _post_raw(as_alice, _nested(100_000))
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "detail" in response.json()  # type: ignore[attr-defined]


def test_shallow_nesting_still_parses(as_alice: ContractClient) -> None:
    # Positive control: the same body, nested a little, reaches the serializer (which
    # refuses a list as content with its own message).
    response = _post_raw(as_alice, _nested(3))
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert response.json() == {"content": ["Must be a string."]}  # type: ignore[attr-defined]


@pytest.mark.parametrize("body", [b"NaN", b'{"content": Infinity}', b'{"content": "a\\ud800"}', b"\xff\xfe"])
def test_malformed_json_is_a_400(as_alice: ContractClient, body: bytes) -> None:
    assert _post_raw(as_alice, body).status_code == 400  # type: ignore[attr-defined]
