"""Sessions stay readable and writable while the Redis that caches them does not answer."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
from asgiref.sync import sync_to_async
from django.contrib.sessions.backends import cached_db
from django.db import connections
from django.test import override_settings

from accounts.sessions.cached_db import SessionStore
from tests.faults.servers import free_port

pytestmark = pytest.mark.django_db


@contextmanager
def cache_on_a_dead_redis() -> Iterator[None]:
    """The session cache pointed at a loopback port nothing listens on."""
    dead = {
        "BACKEND": "config.django_redis_cache.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
    with override_settings(CACHES={"default": dead}):
        yield


def saved_session() -> str:
    store = SessionStore()
    store["user"] = "ada"
    store.save()
    assert store.session_key is not None
    return store.session_key


def test_the_stock_cached_store_fails_when_redis_is_down() -> None:
    with cache_on_a_dead_redis():
        key = saved_session()
        with pytest.raises(redis.ConnectionError):
            cached_db.SessionStore(key).load()  # the miss is read from the database, then cached: fails


def test_sessions_are_saved_read_and_deleted_in_the_database_when_redis_is_down() -> None:
    with cache_on_a_dead_redis():
        key = saved_session()
        store = SessionStore(key)
        assert store.load() == {"user": "ada"}
        assert store.exists(key)
        store.delete()
        assert not SessionStore().exists(key)


@pytest.mark.django_db(transaction=True)
async def test_the_async_road_too() -> None:
    with cache_on_a_dead_redis():
        store = SessionStore()
        store["user"] = "grace"
        await store.asave()
        assert store.session_key is not None
        assert await SessionStore(store.session_key).aload() == {"user": "grace"}
        await store.adelete()
        assert not await SessionStore().aexists(store.session_key)
    await sync_to_async(connections.close_all)()  # the queries ran on asgiref's thread
