"""The event loop's own PostgreSQL pool (core.async_database): one per loop, sized by its setting."""

import pytest
from django.test import override_settings

from core import async_database

pytestmark = [pytest.mark.needs_services, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("size", [2, 7])
async def test_the_pool_opens_at_most_its_setting_s_connections(size: int) -> None:
    with override_settings(DB_LOOP_POOL_MAX=size):
        db_pool = await async_database.pool()
        try:
            assert db_pool.max_size == size
            async with db_pool.connection() as db:
                assert await (await db.execute("SELECT 1")).fetchone() == (1,)
        finally:
            await async_database.close_pool()


async def test_each_loop_s_pool_is_opened_once() -> None:
    first = await async_database.pool()
    try:
        assert await async_database.pool() is first
    finally:
        await async_database.close_pool()
    # Closed with its loop's server: the next use opens a new one.
    reopened = await async_database.pool()
    try:
        assert reopened is not first
    finally:
        await async_database.close_pool()
