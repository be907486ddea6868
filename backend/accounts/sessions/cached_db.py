"""The cached database session engine, with keys checked (accounts.sessions).

Django's cached_db store reads through the cache but lets a failed cache write or delete
escape: while Redis is down, or failing over to a replica, every request of a logged-in user
whose session was not cached answered 500. Here the cache is only a speed-up: a cache
operation that fails is logged and skipped, and the database answers.
"""

import logging
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.core.cache import caches
from redis.exceptions import RedisError

from accounts.sessions import StrictKeyMixin

logger = logging.getLogger(__name__)
_UNAVAILABLE = (RedisError, OSError)


class _CacheWhileItAnswers:
    """The session cache's calls, each skipped (as a miss) when Redis fails."""

    def __init__(self, cache: Any) -> None:
        self._cache = cache

    def _failed(self, operation: str, error: Exception) -> None:
        logger.warning("session cache unavailable", extra={"operation": operation, "error": repr(error)})

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self._cache.get(key, default)
        except _UNAVAILABLE as error:
            self._failed("get", error)
            return default

    async def aget(self, key: str, default: Any = None) -> Any:
        try:
            return await self._cache.aget(key, default)
        except _UNAVAILABLE as error:
            self._failed("get", error)
            return default

    def set(self, key: str, value: Any, timeout: Any = None) -> None:
        try:
            self._cache.set(key, value, timeout)
        except _UNAVAILABLE as error:
            self._failed("set", error)

    async def aset(self, key: str, value: Any, timeout: Any = None) -> None:
        try:
            await self._cache.aset(key, value, timeout)
        except _UNAVAILABLE as error:
            self._failed("set", error)

    def delete(self, key: str) -> None:
        try:
            self._cache.delete(key)
        except _UNAVAILABLE as error:
            self._failed("delete", error)

    async def adelete(self, key: str) -> None:
        try:
            await self._cache.adelete(key)
        except _UNAVAILABLE as error:
            self._failed("delete", error)

    def __contains__(self, key: str) -> bool:
        try:
            return key in self._cache
        except _UNAVAILABLE as error:
            self._failed("has_key", error)
            return False


class SessionStore(StrictKeyMixin, cached_db.SessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._cache = _CacheWhileItAnswers(caches[settings.SESSION_CACHE_ALIAS])
