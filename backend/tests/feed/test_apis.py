"""The feed's REST paths and status codes, CSRF included, and a bad-input table."""

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import User
from testing.plugin import ContractClient
from tests.factories import make_post

pytestmark = pytest.mark.django_db


def test_unsafe_methods_need_csrf(
    alice: User, as_alice: ContractClient, contract_client: Callable[..., ContractClient]
) -> None:
    post = make_post(alice)
    assert as_alice.post("/api/posts/", {"content": "x"}, csrf=False).status_code == 403
    assert as_alice.post(f"/api/posts/{post.pk}/like/", csrf=False).status_code == 403
    assert as_alice.delete(f"/api/posts/{post.pk}/like/", csrf=False).status_code == 403
    # Positive control: the same requests with the token pass.
    assert as_alice.post(f"/api/posts/{post.pk}/like/").status_code == 200


def test_anonymous_cannot_write(alice: User, contract_client: Callable[..., ContractClient]) -> None:
    post = make_post(alice)
    anonymous = contract_client()
    assert anonymous.post("/api/posts/", {"content": "x"}).status_code in (401, 403)
    assert anonymous.post(f"/api/posts/{post.pk}/like/").status_code in (401, 403)
    assert anonymous.post(f"/api/posts/{post.pk}/comments/", {"content": "x"}).status_code in (401, 403)
    # Positive control: the feed itself is open to anonymous readers.
    assert anonymous.get("/api/posts/").status_code == 200


def test_post_create_list_and_detail(alice: User, as_alice: ContractClient) -> None:
    response = as_alice.post("/api/posts/", {"content": "  hello world  "})
    assert response.status_code == 201
    post = response.json()
    assert set(post) == {
        "id",
        "author",
        "content",
        "created_at",
        "like_count",
        "comment_count",
        "liked_by_me",
        "deleted",
    }
    assert post["deleted"] is False
    assert post["author"] == {"id": alice.pk, "username": "alice"}
    assert post["created_at"].endswith("Z")
    listing = as_alice.get("/api/posts/").json()
    assert listing["results"][0]["id"] == post["id"] and listing["next"] is None
    detail = as_alice.get(f"/api/posts/{post['id']}/").json()
    assert detail["comments"] == [] and detail["id"] == post["id"]


def test_cursor_pagination_is_stable_while_posts_arrive(alice: User, as_alice: ContractClient) -> None:
    ids = [make_post(alice, f"p{i}").pk for i in range(25)]
    first = as_alice.get("/api/posts/?page_size=10").json()
    assert [p["id"] for p in first["results"]] == ids[::-1][:10]
    make_post(alice, "newer")  # arrives between pages: must not shift the next page
    second = as_alice.get(first["next"]).json()
    assert [p["id"] for p in second["results"]] == ids[::-1][10:20]
    third = as_alice.get(second["next"]).json()
    assert [p["id"] for p in third["results"]] == ids[::-1][20:] and third["next"] is None


def test_page_size_default_and_max(alice: User, as_alice: ContractClient) -> None:
    for i in range(105):
        make_post(alice, f"p{i}")
    assert len(as_alice.get("/api/posts/").json()["results"]) == 20
    assert len(as_alice.get("/api/posts/?page_size=500").json()["results"]) == 100


@pytest.fixture
def bob(make_user: Callable[..., User], contract_client: Callable[..., ContractClient]) -> ContractClient:
    return contract_client(make_user("bob"))


def test_a_comment_and_its_reply(alice: User, bob: ContractClient) -> None:
    post = make_post(alice)
    root = bob.post(f"/api/posts/{post.pk}/comments/", {"content": "root"})
    assert root.status_code == 201
    comment = root.json()
    assert set(comment) == {
        "id",
        "post_id",
        "parent_id",
        "author",
        "content",
        "created_at",
        "like_count",
        "liked_by_me",
        "depth",
        "deleted",
    }
    reply = bob.post(f"/api/posts/{post.pk}/comments/", {"content": "reply", "parent_id": comment["id"]}).json()
    assert reply["depth"] == 1 and reply["parent_id"] == comment["id"]


def test_liking_twice_changes_nothing_and_answers_the_same(alice: User, bob: ContractClient) -> None:
    post = make_post(alice)
    comment = bob.post(f"/api/posts/{post.pk}/comments/", {"content": "root"}).json()
    for _ in range(2):
        assert bob.post(f"/api/posts/{post.pk}/like/").json() == {"liked": True, "like_count": 1, "version": 1}
        assert bob.post(f"/api/comments/{comment['id']}/like/").json() == {"liked": True, "like_count": 1, "version": 1}


def test_unliking_twice_changes_nothing_and_answers_the_same(alice: User, bob: ContractClient) -> None:
    post = make_post(alice)
    comment = bob.post(f"/api/posts/{post.pk}/comments/", {"content": "root"}).json()
    bob.post(f"/api/posts/{post.pk}/like/")
    bob.post(f"/api/comments/{comment['id']}/like/")
    for _ in range(2):
        assert bob.delete(f"/api/posts/{post.pk}/like/").json() == {"liked": False, "like_count": 0, "version": 2}
        assert bob.delete(f"/api/comments/{comment['id']}/like/").json() == {
            "liked": False,
            "like_count": 0,
            "version": 2,
        }


def test_the_thread_says_what_each_reader_liked(alice: User, as_alice: ContractClient, bob: ContractClient) -> None:
    post = make_post(alice)
    comment = bob.post(f"/api/posts/{post.pk}/comments/", {"content": "root"}).json()
    reply = bob.post(f"/api/posts/{post.pk}/comments/", {"content": "reply", "parent_id": comment["id"]}).json()
    bob.post(f"/api/posts/{post.pk}/like/")
    as_alice.post(f"/api/comments/{comment['id']}/like/")
    thread = bob.get(f"/api/posts/{post.pk}/").json()
    assert thread["liked_by_me"] is True and thread["like_count"] == 1 and thread["comment_count"] == 2
    assert thread["comments"][0]["replies"][0]["id"] == reply["id"]
    assert thread["comments"][0]["liked_by_me"] is False
    alices_thread = as_alice.get(f"/api/posts/{post.pk}/").json()
    assert alices_thread["liked_by_me"] is False and alices_thread["comments"][0]["liked_by_me"] is True


def test_a_like_shows_in_the_profile_and_the_leaderboard(alice: User, bob: ContractClient) -> None:
    post = make_post(alice)
    bob.post(f"/api/posts/{post.pk}/like/")
    profile = bob.get("/api/users/alice/").json()
    assert profile == {"id": alice.pk, "username": "alice", "karma_24h": 5, "karma_total": 5}
    board = bob.get("/api/leaderboard/").json()
    assert board["window_hours"] == 24
    assert board["entries"][0] == {"rank": 1, "user": {"id": alice.pk, "username": "alice"}, "karma": 5}


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("post", "/api/posts/", {"content": ""}, 400),
        ("post", "/api/posts/", {"content": "   \n\t "}, 400),
        ("post", "/api/posts/", {"content": "x" * 10_001}, 400),
        ("post", "/api/posts/", {"content": 42}, 400),
        ("post", "/api/posts/{post}/comments/", {"content": "ok", "parent_id": "12"}, 400),
        ("post", "/api/posts/", {"content": ["a"]}, 400),
        ("post", "/api/posts/", {}, 400),
        ("post", "/api/posts/", "not an object", 400),
        ("post", "/api/posts/{post}/comments/", {"content": "x" * 5_001}, 400),
        ("post", "/api/posts/{post}/comments/", {"content": " "}, 400),
        ("post", "/api/posts/{post}/comments/", {"content": "ok", "parent_id": "abc"}, 400),
        ("post", "/api/posts/{post}/comments/", {"content": "ok", "parent_id": 999999}, 400),
        ("post", "/api/posts/{post}/comments/", {"content": "ok", "parent_id": "{foreign}"}, 400),
        ("post", "/api/posts/{post}/comments/", {"content": "ok", "parent_id": -1}, 400),
        ("post", "/api/posts/999999/comments/", {"content": "ok"}, 404),
        ("post", "/api/posts/999999/like/", None, 404),
        ("delete", "/api/posts/999999/like/", None, 404),
        ("post", "/api/comments/999999/like/", None, 404),
        ("get", "/api/posts/999999/", None, 404),
        ("get", "/api/posts/99999999999999999999999/", None, 404),
        ("get", "/api/posts/abc/", None, 404),
        ("get", "/api/posts/?cursor=not-a-cursor", None, 400),
        ("get", "/api/posts/?cursor=%00%ff", None, 400),
        ("get", "/api/posts/?page_size=abc", None, 400),
        ("get", "/api/posts/?page_size=0", None, 400),
        ("get", "/api/users/nobody/", None, 404),
    ],
)
def test_bad_input_gets_a_clear_4xx(
    alice: User,
    as_alice: ContractClient,
    make_user: Callable[..., User],
    method: str,
    path: str,
    body: Any,
    status: int,
) -> None:
    post = make_post(alice)
    other = make_post(alice)
    foreign = as_alice.post(f"/api/posts/{other.pk}/comments/", {"content": "elsewhere"}).json()
    path = path.replace("{post}", str(post.pk))
    if isinstance(body, dict) and body.get("parent_id") == "{foreign}":
        body = {**body, "parent_id": foreign["id"]}
    response = (
        as_alice.get(path)
        if method == "get"
        else getattr(as_alice, method)(path, body)
        if body is not None
        else getattr(as_alice, method)(path)
    )
    assert response.status_code == status, response.content
    if status >= 400:
        payload = response.json()
        assert payload and isinstance(payload, dict)


def test_malformed_json_is_a_400(alice: User, as_alice: ContractClient) -> None:
    response = as_alice.django.post(
        "/api/posts/", data=b"{not json", content_type="application/json", HTTP_X_CSRFTOKEN=as_alice.csrf_token
    )
    assert response.status_code == 400
    assert "detail" in response.json()
