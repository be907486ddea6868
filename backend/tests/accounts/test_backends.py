"""Session authentication remembers a user row for a few seconds, and forgets a saved one at once."""

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.backends import CachedModelBackend
from accounts.models import User
from core import async_database

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


@pytest.mark.django_db(transaction=True)
async def test_on_an_event_loop_the_row_is_read_and_remembered_alike(make_user: Any) -> None:
    active, inactive = await sync_to_async(make_user)(), await sync_to_async(make_user)()
    await User.objects.filter(pk=inactive.pk).aupdate(is_active=False)
    backend = CachedModelBackend()
    try:
        loaded = await backend.aget_user(active.pk)
        assert loaded == active and loaded is not None
        assert loaded.get_session_auth_hash() == active.get_session_auth_hash()
        # Remembered as get_user remembers: the next lookup on either road is free.
        assert CachedModelBackend.remembered(active.pk) == active
        # A user who may not log in is no user, as with get_user (remembered as such).
        assert await backend.aget_user(inactive.pk) is None
        assert inactive.pk in CachedModelBackend._users and CachedModelBackend.remembered(inactive.pk) is None
    finally:
        await async_database.close_pool()
