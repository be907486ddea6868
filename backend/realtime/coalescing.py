"""Events waiting to be numbered, with like counts coalesced: the one queue of every publisher.

A like count is an absolute value with a version, so of several counts for one object that
wait to be sent only the highest version needs a `seq`: the others would be numbered, kept in
the backlog and delivered to every socket only to be overwritten at once. The window
(REALTIME_COALESCE_WINDOW_MS) throttles each object's counts, leading edge first:

- a count for an object none of whose counts left within the last window is due at once:
  nothing shows that another is coming, and making it wait would only delay the like on a
  quiet post (at a few likes per second that is every like);
- a count for a hot object (one of its counts left less than a window ago) waits until a
  window after that one, and newer counts replace it in place meanwhile.

So the first like of a burst on one object goes at once, the rest take a `seq` per window, not
one per like, and the newest count always leaves, never more than a window after it arrived:
nothing is lost. Every other event is due at once and keeps commit order (a leaderboard event
still replaces a queued one, without waiting). Presence never comes here: each worker pushes
`post.viewers` to its own sockets through its hub (realtime/presence.py).

A hot object's count waits its own window even when other events leave before it: a comment
every few milliseconds must not cut every window short. Counts whose window is at least half
over leave with whatever is sent all the same: the objects that leave together start their
next windows together, so a storm over many posts costs the publisher a round trip or two per
window, not one per post (each post's window would otherwise end at its own time). The price
is that one object's counts may leave half a window apart, not a full one, while other events
keep the publisher busy. Nothing else depends on the order between a count and the other
events: every event carries absolute values of its own fields, and a count is never numbered
after a newer one of its object (the newer one takes its place here, and the stream log drops
an older one that comes late).

Pure bookkeeping, no clock, thread or event loop: the publishers (realtime.publish) pass the
time in, do their own waiting and locking, and set the window as it follows the socket
workers' delivery rounds (realtime/window.py).
"""

from collections.abc import Iterable

from realtime.events import Event


class CoalescingQueue:
    """Events in commit order, a like count replacing an older one for the same object in place.

    Bounded: beyond `limit` events the oldest are dropped (the caller logs and counts them;
    clients find the hole by `seq` and resume or read afresh). The memory of when each
    object's last count left holds only the last window, and at most `limit` objects.
    """

    def __init__(self, *, window: float, limit: int) -> None:
        if window < 0 or limit < 1:
            raise ValueError(f"window must be >= 0 and limit >= 1, got {window!r} and {limit!r}")
        self._window = window
        self._limit = limit
        # Keyed by the coalesce key, or by an arrival number for an event that never coalesces;
        # each with when it is due. A dict keeps the first arrival's place when a newer count
        # replaces the event, and the newer count keeps that first deadline.
        self._pending: dict[object, tuple[Event, float]] = {}
        # When each object's last count was taken, for the objects taken within the last window:
        # oldest first (a taken key moves to the end), so pruning stops at the first still hot.
        self._last_taken: dict[object, float] = {}
        # The earliest deadline pending.
        self._due: float | None = None
        self._arrivals = 0

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def window(self) -> float:
        return self._window

    @window.setter
    def window(self, window: float) -> None:
        """A new window for counts that arrive from now on; those queued keep their deadlines."""
        if window < 0:
            raise ValueError(f"window must be >= 0, got {window!r}")
        self._window = window

    def due_at(self) -> float | None:
        """When the first pending event is due (None: nothing pending)."""
        return self._due

    def add(self, event: Event, now: float) -> int:
        """Queue a committed event; how many of the oldest events were dropped to make room."""
        self._forget_before(now)
        deadline = now
        if event.waits_to_coalesce:
            taken = self._last_taken.get(event.coalesce_key)
            if taken is not None:
                deadline = max(now, taken + self._window)
        self._put(event, deadline=deadline)
        return self._trim()

    def take(self, now: float) -> list[Event]:
        """The events due now, in order, with the counts whose window is at least half over."""
        self._forget_before(now)
        cutoff = now + self._window / 2
        due: list[Event] = []
        kept: dict[object, tuple[Event, float]] = {}
        for key, (event, deadline) in self._pending.items():
            if deadline <= cutoff:
                due.append(event)
                if event.waits_to_coalesce:
                    self._taken(key, now)
            else:
                kept[key] = (event, deadline)
        self._pending = kept
        self._due = min((deadline for _, deadline in kept.values()), default=None)
        return due

    def take_all(self) -> list[Event]:
        """Every pending event, in order, waiting or not (the publisher is stopping)."""
        events = [event for event, _ in self._pending.values()]
        self._pending = {}
        self._due = None
        return events

    def put_back(self, unsent: Iterable[Event], now: float) -> int:
        """Events that could not be sent, back in front of newer ones and due at once.

        How many of the oldest were dropped to stay within the limit.
        """
        newer = self._pending
        self._pending, self._due = {}, None
        for event in unsent:
            self._put(event, deadline=now)
        for event, deadline in newer.values():
            self._put(event, deadline=deadline)
        return self._trim()

    def _put(self, event: Event, *, deadline: float) -> None:
        self._due = deadline if self._due is None else min(self._due, deadline)
        if event.coalesce_key is None:
            self._arrivals += 1
            self._pending[self._arrivals] = (event, deadline)
            return
        key = event.coalesce_key
        queued = self._pending.get(key)
        if queued is None:
            self._pending[key] = (event, deadline)
            return
        # The first arrival's deadline unless this one is due sooner (an unsent count put back).
        queued_event, queued_deadline = queued
        newest = event if queued_event.version < event.version else queued_event
        self._pending[key] = (newest, min(queued_deadline, deadline))

    def _taken(self, key: object, now: float) -> None:
        self._last_taken.pop(key, None)
        self._last_taken[key] = now
        if len(self._last_taken) > self._limit:
            # Forgetting an object only lets its next count go at once.
            del self._last_taken[next(iter(self._last_taken))]

    def _forget_before(self, now: float) -> None:
        """Drop the objects whose last count left a window ago or more: they are not hot."""
        while self._last_taken:
            key, taken = next(iter(self._last_taken.items()))
            if taken + self._window > now:
                return
            del self._last_taken[key]

    def _trim(self) -> int:
        excess = len(self._pending) - self._limit
        if excess <= 0:
            return 0
        for key in list(self._pending)[:excess]:
            del self._pending[key]
        self._due = min(deadline for _, deadline in self._pending.values())
        return excess
