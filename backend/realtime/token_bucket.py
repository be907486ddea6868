"""A token bucket: the inbound frame rate a socket may keep up, with a burst allowance.

Each socket of /ws/ has one: a client that empties it is flooding, and the session closes it.
"""

import time
from collections.abc import Callable


class TokenBucket:
    """Full at first; refills at `rate` tokens a second up to `burst`; each take costs one."""

    def __init__(self, *, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._tokens_at = clock()

    def take(self) -> bool:
        """Spend one token; False (and nothing spent) when the bucket is empty."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._tokens_at) * self._rate)
        self._tokens_at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
