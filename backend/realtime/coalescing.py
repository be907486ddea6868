"""Events waiting to be numbered, with like counts coalesced: the one queue of every publisher.

A like count is an absolute value with a version, so of several counts for one object that
wait to be sent only the highest version needs a `seq`: the others would be numbered, kept in
the backlog and delivered to every socket only to be overwritten at once. Letting a count
wait a short window before it is sent lets the counts of a burst of likes meet here, before
the stream log numbers them. Every other event is due at once and keeps commit order (the
leaderboard and presence events still replace a queued one of theirs, without waiting).

Pure bookkeeping, no clock, thread or event loop: the publishers (realtime.publish) pass the
time in and do their own waiting and locking.
"""

from collections.abc import Iterable

from realtime.events import Event


class CoalescingQueue:
    """Events in commit order, a like count replacing an older one for the same object in place.

    Bounded: beyond `limit` events the oldest are dropped (the caller logs and counts them;
    clients find the hole by `seq` and resume or read afresh).
    """

    def __init__(self, *, window: float, limit: int) -> None:
        if window < 0 or limit < 1:
            raise ValueError(f"window must be >= 0 and limit >= 1, got {window!r} and {limit!r}")
        self._window = window
        self._limit = limit
        # Keyed by the coalesce key, or by an arrival number for an event that never coalesces.
        # A dict keeps the first arrival's place when a newer count replaces the value.
        self._pending: dict[object, Event] = {}
        self._arrivals = 0
        self._due: float | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def due_at(self) -> float | None:
        """When the pending events should be sent (None: nothing pending)."""
        return self._due

    def add(self, event: Event, now: float) -> int:
        """Queue a committed event; how many of the oldest events were dropped to make room."""
        self._put(event)
        due = now + self._window if event.waits_to_coalesce else now
        self._due = due if self._due is None else min(self._due, due)
        return self._trim()

    def take(self) -> list[Event]:
        """Every pending event, in order; the queue is then empty."""
        events = list(self._pending.values())
        self._pending = {}
        self._due = None
        return events

    def put_back(self, unsent: Iterable[Event], now: float) -> int:
        """Events that could not be sent, back in front of newer ones and due at once.

        How many of the oldest were dropped to stay within the limit.
        """
        newer = self._pending
        self._pending = {}
        for event in [*unsent, *newer.values()]:
            self._put(event)
        self._due = now if self._pending else None
        return self._trim()

    def _put(self, event: Event) -> None:
        if event.coalesce_key is None:
            self._arrivals += 1
            self._pending[self._arrivals] = event
            return
        queued = self._pending.get(event.coalesce_key)
        if queued is None or queued.version < event.version:
            self._pending[event.coalesce_key] = event

    def _trim(self) -> int:
        excess = len(self._pending) - self._limit
        if excess <= 0:
            return 0
        for key in list(self._pending)[:excess]:
            del self._pending[key]
        return excess
