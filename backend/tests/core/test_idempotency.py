"""Idempotency-Key on creates: every rule of the contract, on the embedded default and PostgreSQL.

The races with real threads (each with its own PostgreSQL connection) are in
test_idempotency_races.py.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import orjson
import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from core import idempotency
from core.models import IdempotencyKey
from feed.models import Comment, Post
from testing.plugin import ContractClient
from tests.factories import make_post

pytestmark = pytest.mark.django_db


def create(client: ContractClient, path: str, body: Any, key: str | None = None) -> Any:
    headers = {"X-CSRFToken": client.csrf_token}
    if key is not None:
        headers[idempotency.HEADER] = key
    return client.django.post(path, data=orjson.dumps(body), content_type="application/json", headers=headers)


def test_a_retried_post_gets_the_first_answer_and_creates_nothing(as_alice: ContractClient) -> None:
    first = create(as_alice, "/api/posts/", {"content": "hello"}, key="k-1")
    again = create(as_alice, "/api/posts/", {"content": "hello"}, key="k-1")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again[idempotency.REPLAYED_HEADER] == "true"
    assert idempotency.REPLAYED_HEADER not in first
    assert Post.objects.filter(content="hello").count() == 1


def test_without_a_key_each_request_creates(as_alice: ContractClient) -> None:
    create(as_alice, "/api/posts/", {"content": "hello"})
    create(as_alice, "/api/posts/", {"content": "hello"})
    assert Post.objects.filter(content="hello").count() == 2


def test_a_retried_comment_gets_the_first_answer(as_alice: ContractClient, alice: User) -> None:
    post = make_post(alice)
    path = f"/api/posts/{post.pk}/comments/"
    first = create(as_alice, path, {"content": "reply"}, key="c-1")
    again = create(as_alice, path, {"content": "reply"}, key="c-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Comment.objects.filter(post=post).count() == 1
    post.refresh_from_db()
    assert post.comment_count == 1
    # A new key is a new comment.
    assert create(as_alice, path, {"content": "reply"}, key="c-2").status_code == 201
    assert Comment.objects.filter(post=post).count() == 2


def test_the_same_key_with_another_body_or_path_answers_422(as_alice: ContractClient, alice: User) -> None:
    post = make_post(alice)
    assert create(as_alice, "/api/posts/", {"content": "first"}, key="k").status_code == 201
    other_body = create(as_alice, "/api/posts/", {"content": "second"}, key="k")
    assert other_body.status_code == 422
    assert "detail" in other_body.json()
    other_path = create(as_alice, f"/api/posts/{post.pk}/comments/", {"content": "first"}, key="k")
    assert other_path.status_code == 422
    assert not Post.objects.filter(content="second").exists()
    assert not Comment.objects.exists()
    # Key order in the JSON body is no difference.
    path = f"/api/posts/{post.pk}/comments/"
    assert create(as_alice, path, {"content": "x", "parent_id": None}, key="o").status_code == 201
    assert create(as_alice, path, {"parent_id": None, "content": "x"}, key="o").status_code == 201
    assert Comment.objects.count() == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "clé", "tab\there", "bell\x07"])
def test_a_malformed_key_answers_400_and_creates_nothing(as_alice: ContractClient, key: str) -> None:
    response = create(as_alice, "/api/posts/", {"content": "hello"}, key=key)
    assert response.status_code == 400
    assert idempotency.HEADER in response.json()
    assert not Post.objects.exists()
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", ["x" * 255, "a", " !~ printable ASCII 0-9 ", "7f3c2b9e-8a41-4c1e-9d55-0c6f3f1a2b7d"])
def test_well_formed_keys_are_accepted(as_alice: ContractClient, key: str) -> None:
    assert create(as_alice, "/api/posts/", {"content": "hello"}, key=key).status_code == 201
    assert IdempotencyKey.objects.filter(key=key).count() == 1


def test_a_refused_request_is_not_remembered(as_alice: ContractClient, alice: User) -> None:
    refused = create(as_alice, "/api/posts/", {"content": "   "}, key="k")
    assert refused.status_code == 400
    assert not IdempotencyKey.objects.exists()
    # The retry, fixed, is handled anew: not a 422 for another body, not the 400 again.
    assert create(as_alice, "/api/posts/", {"content": "now with words"}, key="k").status_code == 201
    # A 404 is not remembered either.
    missing = create(as_alice, "/api/posts/999999/comments/", {"content": "hi"}, key="m")
    assert missing.status_code == 404
    post = make_post(alice)
    assert create(as_alice, f"/api/posts/{post.pk}/comments/", {"content": "hi"}, key="m").status_code == 201


def test_keys_are_per_user(as_alice: ContractClient, make_user: Callable[..., User], contract_client: Any) -> None:
    as_bob = contract_client(make_user("bob"))
    first = create(as_alice, "/api/posts/", {"content": "same"}, key="shared")
    second = create(as_bob, "/api/posts/", {"content": "same"}, key="shared")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert second.json()["author"]["username"] == "bob"


def test_a_key_older_than_24_hours_is_handled_anew(as_alice: ContractClient) -> None:
    first = create(as_alice, "/api/posts/", {"content": "hello"}, key="old")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    again = create(as_alice, "/api/posts/", {"content": "hello"}, key="old")
    assert again.status_code == 201
    assert again.json()["id"] != first.json()["id"]
    # The expired record was taken over: the key now answers for the new post.
    replay = create(as_alice, "/api/posts/", {"content": "hello"}, key="old")
    assert replay.json()["id"] == again.json()["id"]
    assert IdempotencyKey.objects.count() == 1


def test_purge_deletes_keys_older_than_24_hours_only(as_alice: ContractClient, capsys: Any) -> None:
    create(as_alice, "/api/posts/", {"content": "old one"}, key="old")
    create(as_alice, "/api/posts/", {"content": "young one"}, key="young")
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    IdempotencyKey.objects.filter(key="young").update(created_at=timezone.now() - timedelta(hours=23))
    call_command("idempotency_purge")
    assert "purged 1 " in capsys.readouterr().out
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["young"]


def test_purge_works_in_batches(alice: User) -> None:
    old = timezone.now() - timedelta(hours=30)
    IdempotencyKey.objects.bulk_create(
        IdempotencyKey(user=alice, key=f"k{i}", fingerprint="f", status=201, body="{}", created_at=old)
        for i in range(25)
    )
    assert idempotency.purge_expired(batch_size=10) == 25
    assert not IdempotencyKey.objects.exists()


def test_the_schema_shows_the_header(contract_client: Callable[..., ContractClient]) -> None:
    schema = orjson.loads(contract_client().get("/api/schema/?format=json").content)
    for path in ("/api/posts/", "/api/posts/{post_id}/comments/"):
        operation = schema["paths"][path]["post"]
        headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
        assert headers == [idempotency.HEADER], path
        assert "422" in operation["responses"]
    assert "parameters" not in schema["paths"]["/api/posts/"]["get"] or idempotency.HEADER not in str(
        schema["paths"]["/api/posts/"]["get"]["parameters"]
    )


@pytest.mark.django_db(transaction=True)
async def test_a_retried_create_is_pushed_once(
    live_socket: Callable[..., Any], make_user: Callable[..., User], contract_client: Callable[..., ContractClient]
) -> None:
    client = await sync_to_async(contract_client)(await sync_to_async(make_user)("pusher"))
    socket = await live_socket()
    for _ in range(3):
        response = await sync_to_async(create)(client, "/api/posts/", {"content": "once"}, key="push")
        assert response.status_code == 201
    await socket.wait_for("post.created")
    # Positive control: a create with a new key, sent after the retries, is the next event.
    await sync_to_async(create)(client, "/api/posts/", {"content": "twice"}, key="push-2")
    following = await socket.wait_for("post.created")
    assert following["post"]["content"] == "twice"
    await socket.assert_silent("post.created")
