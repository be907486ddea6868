"""Session authentication remembers a user row for a few seconds, and forgets a saved one at once."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.backends import CachedModelBackend
from accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    CachedModelBackend._users.clear()


def test_a_second_lookup_of_the_same_user_costs_no_query(make_user: Any) -> None:
    user = make_user()
    backend = CachedModelBackend()
    with CaptureQueriesContext(connection) as first:
        assert backend.get_user(user.pk) == user
    with CaptureQueriesContext(connection) as second:
        again = backend.get_user(user.pk)
    assert len(first) == 1
    assert len(second) == 0
    # Each caller gets its own object.
    assert again == user and again is not backend.get_user(user.pk)


def test_saving_the_user_forgets_the_remembered_row(make_user: Any) -> None:
    user = make_user()
    backend = CachedModelBackend()
    old_hash = backend.get_user(user.pk).get_session_auth_hash()  # type: ignore[union-attr]
    user.set_password("a-new-password-123")
    user.save()
    with CaptureQueriesContext(connection) as lookup:
        fresh = backend.get_user(user.pk)
    assert len(lookup) == 1
    assert fresh is not None and fresh.get_session_auth_hash() != old_hash


def test_a_session_of_a_changed_password_is_logged_out(make_user: Any, contract_client: Any) -> None:
    user = make_user()
    client = contract_client(user)
    assert client.get("/api/auth/me/").status_code == 200
    changed = User.objects.get(pk=user.pk)
    changed.set_password("another-password-456")
    changed.save()
    assert client.get("/api/auth/me/").status_code == 403
