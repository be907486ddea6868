"""A database that cannot be reached is a 503 with Retry-After, never a 500."""

from collections.abc import Callable, Iterator

import pytest
from django.db import connections

from accounts.models import User
from testing.plugin import ContractClient, free_port
from tests.factories import make_post

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_services]


@pytest.fixture
def database_unreachable() -> Iterator[Callable[[], None]]:
    """Call the returned function to point this thread's connection at a closed port."""
    connection = connections["default"]
    original_port = connection.settings_dict["PORT"]
    pool_options = connection.settings_dict["OPTIONS"].get("pool")
    original_pool = dict(pool_options) if isinstance(pool_options, dict) else pool_options

    def reconnect() -> None:
        # The pool holds live connections: drop it too, so the next query dials the new port.
        connection.close()
        connection.close_pool()  # type: ignore[attr-defined]  # PostgreSQL's wrapper has it

    def cut() -> None:
        closed_port = free_port()
        connection.settings_dict["PORT"] = closed_port
        if isinstance(pool_options, dict):
            pool_options["timeout"] = 1.0  # give up on the dead server quickly
        reconnect()

    yield cut
    connection.settings_dict["PORT"] = original_port
    connection.settings_dict["OPTIONS"]["pool"] = original_pool
    reconnect()


def test_reads_and_writes_answer_503_while_the_database_is_down(
    make_user: Callable[..., User],
    contract_client: Callable[..., ContractClient],
    database_unreachable: Callable[[], None],
) -> None:
    author = make_user()
    post = make_post(author)
    client = contract_client(author)
    database_unreachable()
    for response in (
        client.get("/api/posts/"),
        client.get(f"/api/posts/{post.pk}/"),
        client.post(f"/api/posts/{post.pk}/like/"),
        client.get("/api/leaderboard/"),
    ):
        assert response.status_code == 503, response.content
        assert response["Retry-After"] == "5"
        assert response.json() == {"detail": "The database is unavailable; try again shortly."}
    health = client.get("/api/health/")
    assert health.status_code == 503 and health.json()["database"]["ok"] is False
