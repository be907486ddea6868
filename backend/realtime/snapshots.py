"""Subscribe snapshots, read for every socket that is waiting at the same moment in one query.

Channels runs database work on one thread, one call at a time, so a storm of subscribes
used to queue one query and two thread hops per socket behind each other. Here the sockets
that ask while a read is under way wait for the next read, which covers all of their posts.
"""

import asyncio
from typing import Any

from channels.db import database_sync_to_async

from feed import selectors

Snapshot = list[dict[str, Any]]


class SnapshotReader:
    def __init__(self) -> None:
        self._waiting: list[tuple[list[int], asyncio.Future[Snapshot]]] = []
        # The task reading now, if any; kept so that it is not collected mid-read.
        self._reader: asyncio.Task[None] | None = None

    async def read(self, post_ids: list[int]) -> Snapshot:
        """The live state of these posts (ordered by id), read after this call began."""
        answer: asyncio.Future[Snapshot] = asyncio.get_running_loop().create_future()
        self._waiting.append((post_ids, answer))
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_while_waiting(), name="snapshot-reads")
        return await answer

    async def _read_while_waiting(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                wanted = sorted({post_id for post_ids, _ in batch for post_id in post_ids})
                try:
                    rows = await database_sync_to_async(selectors.posts_live_state)(post_ids=wanted)
                except Exception as exc:  # noqa: BLE001 - every waiting socket gets the error
                    for _, answer in batch:
                        if not answer.done():
                            answer.set_exception(exc)
                    continue
                by_id = {row["id"]: row for row in rows}
                for post_ids, answer in batch:
                    if not answer.done():
                        answer.set_result([by_id[i] for i in sorted(post_ids) if i in by_id])
        finally:
            self._reader = None
