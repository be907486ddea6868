"""Subscribe snapshots, read for every socket that is waiting at the same moment in one query.

Channels runs database work on one thread, one call at a time, so a storm of subscribes
used to queue one query and two thread hops per socket behind each other. Here the sockets
that ask while a read is under way wait for the next read, which covers all of their posts.

Each post carries `seq`, its stream's position read from the stream log before the rows
(and after the sockets joined the streams): an event numbered later reaches the socket, an
event numbered earlier is in the rows.
"""

import asyncio
import logging
from typing import Any

from channels.db import database_sync_to_async

from feed import selectors
from realtime.events import post_group
from realtime.hub import Hub
from realtime.streams import StreamLog

logger = logging.getLogger(__name__)

Snapshot = list[dict[str, Any]]


class SnapshotReader:
    def __init__(self, log: StreamLog, hub: Hub) -> None:
        self._log = log
        self._hub = hub
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
                seqs: dict[str, int] = {}
                try:
                    read = await self._log.apositions(post_group(post_id) for post_id in wanted)
                    seqs = read.seqs
                    self._hub.note_positions(seqs, read.epoch)
                except Exception:  # noqa: BLE001 - Redis down: the snapshot goes without positions
                    logger.warning("stream positions unavailable for a subscribe", exc_info=True)
                try:
                    rows = await database_sync_to_async(selectors.posts_live_state)(post_ids=wanted)
                except Exception as exc:  # noqa: BLE001 - every waiting socket gets the error
                    for _, answer in batch:
                        if not answer.done():
                            answer.set_exception(exc)
                    continue
                by_id = {row["id"]: {**row, "seq": seqs.get(post_group(row["id"]))} for row in rows}
                for post_ids, answer in batch:
                    if not answer.done():
                        answer.set_result([by_id[i] for i in sorted(post_ids) if i in by_id])
        finally:
            self._reader = None
