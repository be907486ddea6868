"""Input a client controls that reaches the database (REST): always a 4xx, on both engines.

NUL bytes (which PostgreSQL refuses in text and SQLite cuts strings at), dates at the edge of
what Python can shift between time zones, and ids past 64 bits.
"""

import base64
from collections.abc import Callable

import pytest
from django.test import Client

from accounts.models import User
from tests.factories import make_post

pytestmark = pytest.mark.django_db


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.fixture
def demo(make_user: Callable[..., User]) -> User:
    return make_user("demo_01")


def test_profile_answers_for_the_exact_name(demo: User) -> None:
    # Positive control for the NUL cases below.
    assert Client().get(f"/api/users/{demo.username}/").json()["id"] == demo.pk


@pytest.mark.parametrize("path", ["/api/users/{name}%00/", "/api/users/a%00b/", "/api/users/%00/"])
def test_a_nul_byte_in_a_profile_url_is_a_404(demo: User, path: str) -> None:
    response = Client().get(path.format(name=demo.username))
    assert response.status_code == 404
    assert "detail" in response.json()


@pytest.mark.parametrize("cookie", ['"\\000abcdefghijklmnop"', '"abcdefgh\\000ijklmnop"', "abc\x00defghijklmnop"])
def test_an_escaped_nul_in_the_session_cookie_is_anonymous(cookie: str) -> None:
    response = Client(HTTP_COOKIE=f"sessionid={cookie}").get("/api/auth/me/")
    assert response.status_code in (401, 403)
    assert Client(HTTP_COOKIE=f"sessionid={cookie}").get("/api/posts/").status_code == 200


@pytest.mark.parametrize(
    "raw",
    [
        "0001-01-01T00:00:00+05:00|1",
        "0001-01-01T00:00:00+00:00|1",
        "9999-12-31T23:59:59-05:00|1",
        "9999-12-31T23:59:59.999999+00:00|1",
        "2026-01-01T00:00:00+00:00|99999999999999999999",
        "2026-01-01T00:00:00+00:00|-1",
    ],
)
def test_a_crafted_feed_cursor_is_a_400(make_user: Callable[..., User], raw: str) -> None:
    make_post(make_user())
    response = Client().get("/api/posts/", {"cursor": _cursor(raw)})
    assert response.status_code == 400
    assert "cursor" in response.json()


def test_a_cursor_from_a_next_link_still_pages(make_user: Callable[..., User]) -> None:
    author = make_user()
    for _ in range(3):
        make_post(author)
    first = Client().get("/api/posts/", {"page_size": 2}).json()
    assert first["next"] is not None
    assert len(Client().get(first["next"]).json()["results"]) == 1


@pytest.mark.parametrize("post_id", [2**63, 2**64 + 5, 10**30])
def test_post_ids_past_64_bits_are_a_404(make_user: Callable[..., User], post_id: int) -> None:
    client = Client()
    client.force_login(make_user())
    assert client.get(f"/api/posts/{post_id}/").status_code == 404
    assert client.post(f"/api/posts/{post_id}/like/").status_code == 404
    assert client.post(f"/api/comments/{post_id}/like/").status_code == 404
    assert (
        client.post(f"/api/posts/{post_id}/comments/", {"content": "x"}, content_type="application/json").status_code
        == 404
    )
