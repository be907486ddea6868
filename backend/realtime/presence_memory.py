"""Presence counts in this process's memory: the embedded mode's store, same rules as Redis."""

import time
from collections.abc import Mapping, Sequence

from realtime.presence import SyncResult


class MemoryPresenceStore:
    def __init__(self) -> None:
        # Per worker: when its lease ends (time.monotonic()) and its count per post.
        self._leases: dict[str, float] = {}
        self._counts: dict[str, dict[int, int]] = {}

    def _drop_expired(self, now: float) -> None:
        for worker in [w for w, ends in self._leases.items() if ends <= now]:
            del self._leases[worker]
            self._counts.pop(worker, None)

    async def sync(self, *, worker: str, changed: Mapping[int, int], wanted: Sequence[int], ttl: float) -> SyncResult:
        now = time.monotonic()
        self._drop_expired(now)
        renewed = worker in self._leases
        counts = self._counts.setdefault(worker, {})
        for post_id, count in changed.items():
            if count:
                counts[post_id] = count
            else:
                counts.pop(post_id, None)
        self._leases[worker] = now + ttl
        totals = {post_id: sum(c.get(post_id, 0) for c in self._counts.values()) for post_id in wanted}
        return SyncResult(totals=totals, renewed=renewed)

    async def leave(self, *, worker: str) -> None:
        self._leases.pop(worker, None)
        self._counts.pop(worker, None)

    async def close(self) -> None:
        pass
