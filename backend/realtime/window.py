"""A coalescing window that follows the socket workers' delivery rounds.

A like count's window (realtime/coalescing.py) trades delay for events: a shorter window
brings a hot post's newest count sooner, but numbers more counts, and every socket that
follows the post receives each of them. While a socket worker's delivery rounds are short,
that is cheap, and the shorter window is what the followers feel. While a round takes longer
than the window, each round carries several counts of every hot post, its frames grow, the
rounds grow with them, and a storm falls seconds behind (docs/load-testing.md, "The window
against the round").

So the window follows the rounds: each socket worker reports its longest recent round
through the stream log, the publishers read the longest any worker reported, and the window
is that round, kept between REALTIME_COALESCE_WINDOW_MIN_MS and REALTIME_COALESCE_WINDOW_MS.
With no round reported lately (no socket worker delivering, or the log unreachable) it is the
longest. With no lower bound set (the default), or one equal to the window, the window is fixed
and nothing is read.

Arithmetic and a clock passed in: the publishers do the reading.
"""

from django.conf import settings

# How often a publisher reads the reported round time again, and a socket worker reports it.
FOLLOW_INTERVAL_SECONDS = 1.0
# How long a report counts: the longest round reported within this time is the one read.
ROUND_REPORT_TTL_SECONDS = 3.0


class FollowingWindow:
    """The window a publisher coalesces with, from the round time the socket workers report."""

    def __init__(self, *, shortest: float, longest: float) -> None:
        if not 0 <= shortest <= longest:
            raise ValueError(f"need 0 <= shortest <= longest, got {shortest!r} and {longest!r}")
        self.shortest = shortest
        self.longest = longest
        self.current = longest
        self._read_at: float | None = None

    @property
    def follows(self) -> bool:
        """Whether the window moves at all (else it is fixed and no round time is read)."""
        return self.shortest < self.longest

    def wants_reading(self, now: float) -> bool:
        """Whether the round time is due to be read again."""
        return self.follows and (self._read_at is None or now - self._read_at >= FOLLOW_INTERVAL_SECONDS)

    def follow(self, round_seconds: float | None, now: float) -> float:
        """The window for the round time just read (None: none reported), from now on."""
        self._read_at = now
        if round_seconds is None:
            self.current = self.longest
        else:
            self.current = min(self.longest, max(self.shortest, round_seconds))
        return self.current


def configured() -> FollowingWindow:
    """The window the settings ask for: REALTIME_COALESCE_WINDOW_MIN_MS (unset: fixed) to
    REALTIME_COALESCE_WINDOW_MS."""
    longest = settings.REALTIME["COALESCE_WINDOW"]
    shortest = settings.REALTIME_COALESCE_WINDOW_MIN
    return FollowingWindow(shortest=longest if shortest is None else shortest, longest=longest)
