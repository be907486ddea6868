"""Events waiting to be numbered, with like counts coalesced: the one queue of every publisher.

A like count is an absolute value with a version, so of several counts for one object that
wait to be sent only the highest version needs a `seq`: the others would be numbered, kept in
the backlog and delivered to every socket only to be overwritten at once. Letting a count
wait a short window before it is sent lets the counts of a burst of likes meet here, before
the stream log numbers them. Every other event is due at once and keeps commit order (a
leaderboard event still replaces a queued one, without waiting). Presence never comes here:
each worker pushes `post.viewers` to its own sockets through its hub (realtime/presence.py).

A count waits its own window even when other events leave before it: a comment every few
milliseconds must not cut every count's window short. Counts whose window is at least half
over leave with whatever is sent, so counts share round trips. Nothing else depends on the
order between a count and the other events: every event carries absolute values of its own
fields, and a count is never numbered after a newer one of its object (the newer one takes
its place here, and the stream log drops an older one that comes late).

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
        # When each waiting count's window ends, in order of arrival (so the first ends first).
        self._deadlines: dict[object, float] = {}
        # The earliest arrival of an event that does not wait, if one is pending.
        self._immediate_since: float | None = None
        self._arrivals = 0

    def __len__(self) -> int:
        return len(self._pending)

    def due_at(self) -> float | None:
        """When the first pending event is due (None: nothing pending)."""
        if self._immediate_since is not None:
            return self._immediate_since
        return next(iter(self._deadlines.values()), None)

    def add(self, event: Event, now: float) -> int:
        """Queue a committed event; how many of the oldest events were dropped to make room."""
        self._put(event, deadline=now + self._window)
        if not event.waits_to_coalesce and self._immediate_since is None:
            self._immediate_since = now
        return self._trim()

    def take(self, now: float) -> list[Event]:
        """The events due now, in order, with the counts whose window is at least half over."""
        cutoff = now + self._window / 2
        due: list[Event] = []
        kept: dict[object, Event] = {}
        for key, event in self._pending.items():
            deadline = self._deadlines.get(key)
            if deadline is None or deadline <= cutoff:
                due.append(event)
                self._deadlines.pop(key, None)
            else:
                kept[key] = event
        self._pending = kept
        self._immediate_since = None
        return due

    def take_all(self) -> list[Event]:
        """Every pending event, in order, waiting or not (the publisher is stopping)."""
        events = list(self._pending.values())
        self._pending = {}
        self._deadlines = {}
        self._immediate_since = None
        return events

    def put_back(self, unsent: Iterable[Event], now: float) -> int:
        """Events that could not be sent, back in front of newer ones and due at once.

        How many of the oldest were dropped to stay within the limit.
        """
        newer, deadlines = self._pending, self._deadlines
        self._pending, self._deadlines = {}, {}
        for event in unsent:
            self._put(event, deadline=now)
        for key, event in newer.items():
            self._put(event, deadline=deadlines.get(key, now))
        self._immediate_since = now if self._pending else None
        return self._trim()

    def _put(self, event: Event, *, deadline: float) -> None:
        if event.coalesce_key is None:
            self._arrivals += 1
            self._pending[self._arrivals] = event
            return
        key = event.coalesce_key
        queued = self._pending.get(key)
        if queued is None or queued.version < event.version:
            self._pending[key] = event
        if event.waits_to_coalesce and key not in self._deadlines:
            self._deadlines[key] = deadline

    def _trim(self) -> int:
        excess = len(self._pending) - self._limit
        if excess <= 0:
            return 0
        for key in list(self._pending)[:excess]:
            del self._pending[key]
            self._deadlines.pop(key, None)
        return excess
