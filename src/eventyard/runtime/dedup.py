"""Dedup window state: which eventIds were routed recently, per keyed partition. No I/O.

Why this shape:
- Per partition, because a keyed partition is owned by exactly one worker; on a rebalance
  the state of a revoked partition is dropped and a newly assigned one is rebuilt from the
  changelog (runtime/changelog.py).
- 64-bit fingerprints instead of the id strings: an int in a set costs ~36 + ~30 bytes,
  a 36-char UUID string ~85 + ~30. Collisions are negligible at this width (birthday bound
  ~n²/2⁶⁵: 3·10⁻⁶ for 10 million ids held at once).
- Time buckets of `window / BUCKETS` by first-seen wall-clock time: expiry drops whole sets
  (no per-id timestamps to store or scan). An id is held between `window` and
  `window + bucket` after it was first seen.
"""

from __future__ import annotations

from hashlib import blake2b

BUCKETS = 48  # 48 h default window → 1 h buckets


def fingerprint(event_id: bytes) -> int:
    return int.from_bytes(blake2b(event_id, digest_size=8).digest(), "big", signed=True)


class DedupStore:
    """Per-partition sets of fingerprints, bucketed by first-seen time."""

    __slots__ = ("_count", "_partitions", "bucket_ms", "window_ms")

    def __init__(self, window_ms: int, buckets: int = BUCKETS) -> None:
        if window_ms <= 0:
            raise ValueError("dedup window must be positive")
        self.window_ms = window_ms
        # Fixed for the store's life: a policy reload that changes the window only moves
        # the expiry horizon, it never re-buckets held ids.
        self.bucket_ms = max(1, window_ms // buckets)
        self._partitions: dict[int, dict[int, set[int]]] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def partitions(self) -> list[int]:
        return sorted(self._partitions)

    def seen(self, partition: int, fp: int) -> bool:
        buckets = self._partitions.get(partition)
        if not buckets:
            return False
        return any(fp in ids for ids in buckets.values())

    def add(self, partition: int, fp: int, first_seen_ms: int) -> None:
        buckets = self._partitions.setdefault(partition, {})
        ids = buckets.setdefault(first_seen_ms // self.bucket_ms, set())
        before = len(ids)
        ids.add(fp)
        self._count += len(ids) - before

    def check_and_add(self, partition: int, fp: int, now_ms: int) -> bool:
        """True when `fp` is a duplicate; otherwise remember it as first seen now."""
        if self.seen(partition, fp):
            return True
        self.add(partition, fp, now_ms)
        return False

    def expire(self, now_ms: int) -> int:
        """Drop every bucket whose newest possible id is older than the window."""
        horizon = now_ms - self.window_ms
        removed = 0
        for buckets in self._partitions.values():
            for index in [i for i in buckets if (i + 1) * self.bucket_ms <= horizon]:
                removed += len(buckets.pop(index))
        self._count -= removed
        return removed

    def drop_partition(self, partition: int) -> int:
        buckets = self._partitions.pop(partition, {})
        removed = sum(len(ids) for ids in buckets.values())
        self._count -= removed
        return removed

    def held(self, partition: int) -> int:
        return sum(len(ids) for ids in self._partitions.get(partition, {}).values())

    def set_window(self, window_ms: int) -> None:
        if window_ms <= 0:
            raise ValueError("dedup window must be positive")
        self.window_ms = window_ms
