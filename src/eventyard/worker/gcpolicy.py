"""The worker's garbage-collection policy: young collections stay small, old ones are
scheduled instead of falling on whichever batch triggers them.

With CPython's collector left to its thresholds, young collections keep re-scanning the
worker's long-lived objects (cache entries: PII hashes, phone parses, identity
partitions), which all survive, and each such pause lands on the batch being routed.

So after every batch everything still alive is frozen (`gc.freeze()`, O(1)): automatic
collections then only ever scan what the current batch allocated. The price is that a
reference cycle which was alive at a freeze and dies later is not reclaimed until the
next full collection, which runs between batches every `full_interval_s` (unfreeze,
collect, freeze again). The hot path creates few cycles, so the interval bounds that
garbage; the full collection's pause is logged.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class GcPolicy:
    def __init__(
        self, full_interval_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.full_interval_s = full_interval_s
        self._clock = clock
        self._next_full = clock() + full_interval_s

    def start(self) -> None:
        """After start-up: collect once, freeze what start-up built (faust, pydantic, the
        policy), and collect the young generation rarely."""
        gc.collect()
        gc.freeze()
        gc.set_threshold(100_000, 50, 100)

    def after_batch(self) -> None:
        gc.freeze()
        if self._clock() >= self._next_full:
            self.full_collection()

    def full_collection(self) -> int:
        started = time.perf_counter()
        gc.unfreeze()
        collected = gc.collect()
        gc.freeze()
        self._next_full = self._clock() + self.full_interval_s
        log.info("full garbage collection: %d unreachable objects, %.0f ms",
                 collected, (time.perf_counter() - started) * 1000)
        return collected
