"""Who is here: how many sockets, across all workers, follow each post right now.

Each worker knows its own followers (the hub's post groups). Every `PRESENCE_INTERVAL`
seconds its `Presence` task writes the counts that changed to the shared store, renews its
lease there, and reads back the totals of the posts its own sockets follow, in one round
trip. Where a total differs from the last one it told them, it pushes `post.viewers` to its
own followers through its hub: every worker tells its own sockets, so nothing travels
through the channel layer, and a post's count reaches a socket at most once per interval.

A worker that dies stops renewing its lease, and the store forgets its counts when the
lease (`PRESENCE_TTL`) runs out; the next round of every other worker then pushes the lower
totals. A `subscribed` answer counts this worker's followers exactly (the asking socket
included) plus the other workers' followers as of the last round.

Two stores behind one interface: Redis for any number of workers (presence_redis.py), and
memory for the embedded single process (presence_memory.py).
"""

import asyncio
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings

from ops.middleware import WORKER_ID
from realtime import events
from realtime.events import POST_GROUP_PREFIX, NumberedEvent, post_group

logger = logging.getLogger(__name__)

# A shutdown does not wait longer than this on Redis to withdraw this worker's counts.
LEAVE_TIMEOUT_SECONDS = 2.0
# Coalescing of crowded posts: a change smaller than 1 % of the count last pushed waits up to
# this many rounds (10 s by default), unless it grows past 1 % meanwhile. With thousands of
# sockets coming and going, every round would otherwise push a count that barely moved to
# every follower; below 100 followers every change goes out at the next round.
SMALL_CHANGE_SHARE = 0.01
SMALL_CHANGE_ROUNDS = 5


@dataclass(frozen=True)
class SyncResult:
    # Followers of each wanted post across every live worker, this one included.
    totals: dict[int, int]
    # False when the store held no live lease of this worker before this call: its counts,
    # if it had written any, lapsed (a stall longer than the lease) and must be written again.
    renewed: bool


class PresenceStore(Protocol):
    async def sync(self, *, worker: str, changed: Mapping[int, int], wanted: Sequence[int], ttl: float) -> SyncResult:
        """Set this worker's count of each changed post (0: none), renew its lease for `ttl`
        seconds, and read the totals of the wanted posts over the workers whose lease is live."""
        ...

    async def leave(self, *, worker: str) -> None:
        """Forget this worker's counts and lease now (a clean shutdown)."""
        ...

    async def close(self) -> None: ...


class PresenceHub(Protocol):
    """What presence needs of the hub: its local membership, and a way to reach its sockets."""

    def member_count(self, group: str) -> int: ...

    def member_counts(self) -> dict[str, int]: ...

    def enqueue(self, event: NumberedEvent) -> None: ...


class Presence:
    def __init__(self, hub: PresenceHub, store: PresenceStore, *, interval: float, ttl: float) -> None:
        self._hub = hub
        self._store = store
        self._interval = interval
        self._ttl = ttl
        # A worker that restarts comes back as a new one; the old one's lease runs out.
        self.worker = f"{WORKER_ID}:{uuid.uuid4().hex[:8]}"
        # This worker's counts as the store holds them (posts with none left out).
        self._written: dict[int, int] = {}
        # Per post followed here: the other workers' followers as of the last round...
        self._others: dict[int, int] = {}
        # ...and the total last pushed to the followers here, with the round it went out in.
        self._pushed: dict[int, tuple[int, int]] = {}
        self._round = 0

    def viewers(self, post_id: int) -> int:
        """Followers of the post now: this worker's exactly, the others' as of the last round."""
        return self._others.get(post_id, 0) + self._hub.member_count(post_group(post_id))

    def with_viewers(self, snapshot: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Snapshot rows (shared between sockets, so copied) with each post's `viewers`."""
        return [{**row, "viewers": self.viewers(row["id"])} for row in snapshot]

    async def run(self) -> None:
        while True:
            try:
                await self.sync_round()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - presence must outlive a Redis outage
                logger.warning("presence round failed; retrying", exc_info=True)
            # After the round, not from its start: two pushes of a post are an interval apart
            # even when one round was slow.
            await asyncio.sleep(self._interval)

    def _local_counts(self) -> dict[int, int]:
        start = len(POST_GROUP_PREFIX)
        return {
            int(group[start:]): count
            for group, count in self._hub.member_counts().items()
            if group.startswith(POST_GROUP_PREFIX) and count
        }

    async def sync_round(self) -> None:
        local = self._local_counts()
        changed = {post_id: count for post_id, count in local.items() if self._written.get(post_id) != count}
        changed.update((post_id, 0) for post_id in self._written if post_id not in local)
        wanted = sorted(local)
        result = await self._store.sync(worker=self.worker, changed=changed, wanted=wanted, ttl=self._ttl)
        if not result.renewed and self._written:
            logger.warning("presence lease had lapsed; writing every count again", extra={"worker": self.worker})
            result = await self._store.sync(worker=self.worker, changed=local, wanted=wanted, ttl=self._ttl)
        self._written = local
        self._round += 1
        self._others = {}
        pushed: dict[int, tuple[int, int]] = {}
        for post_id, count in local.items():
            total = max(result.totals.get(post_id, 0), count)
            self._others[post_id] = total - count
            last = pushed[post_id] = self._pushed.get(post_id, (-1, 0))
            if self._due(total, *last):
                pushed[post_id] = (total, self._round)
                event = events.post_viewers(post_id=post_id, count=total)
                self._hub.enqueue(NumberedEvent(event.group, 0, event.text))  # presence is in no stream: no seq
        self._pushed = pushed

    def _due(self, total: int, last_total: int, last_round: int) -> bool:
        if total == last_total:
            return False
        small = abs(total - last_total) < SMALL_CHANGE_SHARE * last_total
        return not small or self._round - last_round >= SMALL_CHANGE_ROUNDS

    async def close(self) -> None:
        """On a clean shutdown this worker's sockets stop counting at once, not when the lease ends."""
        try:
            async with asyncio.timeout(LEAVE_TIMEOUT_SECONDS):
                await self._store.leave(worker=self.worker)
        except Exception:  # noqa: BLE001 - the lease runs out by itself
            logger.warning("presence leave failed; the lease will run out", exc_info=True)
        await self._store.close()


_memory_store: PresenceStore | None = None


def deployment_prefix() -> str:
    """Every Redis key of the deployment lives under it."""
    return str(settings.REDIS_PREFIX)


def build_store() -> PresenceStore:
    """Redis when the deployment has it; otherwise this process's memory (shared by its loops)."""
    global _memory_store
    if settings.REDIS_SERVERS is not None:
        from realtime.presence_redis import RedisPresenceStore

        return RedisPresenceStore(client=settings.REDIS_SERVERS.async_client(), prefix=deployment_prefix())
    if _memory_store is None:
        from realtime.presence_memory import MemoryPresenceStore

        _memory_store = MemoryPresenceStore()
    return _memory_store


def build(hub: PresenceHub) -> Presence:
    return Presence(
        hub, build_store(), interval=settings.REALTIME["PRESENCE_INTERVAL"], ttl=settings.REALTIME["PRESENCE_TTL"]
    )
