"""Token buckets per client IP and per write key.

A bucket holds up to `burst` tokens and refills at `rate` per second; a request takes one.
A refused request learns when its next token is due, which becomes `Retry-After` (whole
seconds, at least 1: the header takes no fractions). Buckets live in one dict per limiter;
a full bucket is the same as no bucket, so idle ones are dropped once the dict grows past
`max_buckets`, which bounds memory under a flood of distinct IPs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable


class TokenBuckets:
    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_buckets: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_buckets = max_buckets
        self._clock = clock
        self._buckets: dict[Hashable, tuple[float, float]] = {}  # id -> (tokens, as of)

    def take(self, ident: Hashable) -> int:
        """0 when the request may pass, else the seconds to wait (Retry-After)."""
        now = self._clock()
        tokens, since = self._buckets.get(ident, (self.burst, now))
        tokens = min(self.burst, tokens + (now - since) * self.rate)
        if tokens >= 1.0:
            self._buckets[ident] = (tokens - 1.0, now)
            if len(self._buckets) > self.max_buckets:
                self._sweep(now)
            return 0
        self._buckets[ident] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / self.rate))

    def _sweep(self, now: float) -> None:
        full = [k for k, (t, s) in self._buckets.items()
                if t + (now - s) * self.rate >= self.burst]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) > self.max_buckets:
            # Still too many active clients: forget the oldest (they get a fresh bucket).
            for k in list(self._buckets)[: len(self._buckets) - self.max_buckets]:
                del self._buckets[k]

    def __len__(self) -> int:
        return len(self._buckets)
