"""Two requests with one Idempotency-Key at once, on real threads with their own PostgreSQL
connections (as two workers would be): the database decides, one row, one event."""

import asyncio
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from accounts.models import User
from core.models import IdempotencyKey
from feed import services
from feed.models import Post
from testing.plugin import ContractClient, eventually
from tests.core.test_idempotency import create
from tests.feed.test_concurrency import backends_waiting_on_a_lock, run_at_once

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_services]


def test_ten_requests_with_one_key_at_once_create_one_post(
    make_user: Callable[..., User], contract_client: Callable[..., ContractClient]
) -> None:
    user = make_user()
    clients = [contract_client(user) for _ in range(10)]  # ten browsers' worth of sessions, one user
    answers: list[Any] = []

    def send(client: ContractClient) -> None:
        answers.append(create(client, "/api/posts/", {"content": "race"}, key="one"))

    errors = run_at_once([partial(send, c) for c in clients])
    assert errors == []
    assert [a.status_code for a in answers] == [201] * 10
    assert len({a.content for a in answers}) == 1
    assert Post.objects.filter(content="race").count() == 1
    assert IdempotencyKey.objects.count() == 1


async def test_a_retry_arriving_mid_create_waits_and_answers_the_same(
    live_socket: Callable[..., Any],
    make_user: Callable[..., User],
    contract_client: Callable[..., ContractClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = await sync_to_async(make_user)()
    first_client, retry_client = await sync_to_async(lambda: (contract_client(user), contract_client(user)))()
    socket = await live_socket()
    inside, release = threading.Event(), threading.Event()
    original = services.post_create

    def held_post_create(**kwargs: Any) -> Post:
        # The first request stops inside its transaction, its claim row not yet committed.
        if not inside.is_set():
            inside.set()
            assert release.wait(30)
        return original(**kwargs)

    monkeypatch.setattr(services, "post_create", held_post_create)
    answers: dict[str, Any] = {}

    def send(name: str, client: ContractClient) -> None:
        answers[name] = create(client, "/api/posts/", {"content": "held"}, key="mid")

    def race() -> None:
        first = threading.Thread(target=run_at_once, args=([lambda: send("first", first_client)],))
        first.start()
        assert inside.wait(30)
        retry = threading.Thread(target=run_at_once, args=([lambda: send("retry", retry_client)],))
        retry.start()
        # The retry is blocked on the first one's uncommitted claim row, not failed, not replayed.
        try:
            eventually(lambda: backends_waiting_on_a_lock() == 1, "the retry waits on the first's lock", timeout=10)
            assert "retry" not in answers
        finally:
            release.set()
            connections.close_all()  # this thread's own connection, opened by the check
        first.join()
        retry.join()

    await asyncio.to_thread(race)
    assert answers["first"].status_code == answers["retry"].status_code == 201
    assert answers["retry"].content == answers["first"].content
    assert await sync_to_async(Post.objects.filter(content="held").count)() == 1
    assert (await socket.wait_for("post.created"))["post"]["content"] == "held"
    # Positive control for the silence below: a new key's post arrives as the next post.created.
    monkeypatch.setattr(services, "post_create", original)
    await sync_to_async(create)(first_client, "/api/posts/", {"content": "after"}, key="next")
    assert (await socket.wait_for("post.created"))["post"]["content"] == "after"
    await socket.assert_silent("post.created")
