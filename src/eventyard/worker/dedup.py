"""Dedup window state: which eventIds were routed recently, per keyed partition. No I/O.

Why this shape:
- Per partition, because a keyed partition is owned by exactly one worker; on a rebalance
  the state of a revoked partition is dropped and a newly assigned one is rebuilt from the
  changelog (worker/changelog.py).
- 64-bit fingerprints instead of the id strings: an int in a set costs ~36 + ~30 bytes,
  a 36-char UUID string ~85 + ~30. Collisions are negligible at this width (birthday bound
  ~n²/2⁶⁵: 3·10⁻⁶ for 10 million ids held at once). The fingerprint is Python's own hash
  of the id bytes: SipHash with the interpreter's random per-process key, so a producer
  cannot choose ids that collide with other producers' ids (with an unkeyed 64-bit hash,
  ~2³² tries find a collision), and it costs a tenth of a blake2b digest. Fingerprints
  never leave the process: a restore recomputes them from the changelog's eventIds.
  (Setting PYTHONHASHSEED to a fixed value would make the key guessable.)
- One membership set per partition, so a lookup is one hash probe whatever the window
  (not one probe per time bucket).
- Time buckets of `window / BUCKETS` by first-seen wall-clock time, kept as packed
  `array('q')` (8 bytes per id) used only for expiry: an expired bucket is subtracted from
  the set in one C call, with no per-id timestamps. An id is held between `window` and
  `window + bucket` after it was first seen.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from eventyard.errors import ConfigError

BUCKETS = 48  # 48 h default window → 1 h buckets


def fingerprint(event_id: bytes) -> int:
    """A signed 64-bit fingerprint of `event_id`, stable for this process's life."""
    return hash(event_id)


@dataclass(slots=True)
class _Partition:
    members: set[int] = field(default_factory=set)
    buckets: dict[int, array[int]] = field(default_factory=dict)


class DedupStore:
    """Per-partition fingerprint sets, with first-seen time buckets for expiry."""

    __slots__ = ("_count", "_partitions", "bucket_ms", "window_ms")

    def __init__(self, window_ms: int, buckets: int = BUCKETS) -> None:
        if window_ms <= 0:
            raise ConfigError("dedup window must be positive")
        self.window_ms = window_ms
        # Fixed for the store's life: a policy reload that changes the window only moves
        # the expiry horizon, it never re-buckets held ids.
        self.bucket_ms = max(1, window_ms // buckets)
        self._partitions: dict[int, _Partition] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def partitions(self) -> list[int]:
        return sorted(self._partitions)

    def seen(self, partition: int, fp: int) -> bool:
        state = self._partitions.get(partition)
        return state is not None and fp in state.members

    def add(self, partition: int, fp: int, first_seen_ms: int) -> None:
        state = self._partitions.get(partition)
        if state is None:
            state = self._partitions[partition] = _Partition()
        if fp in state.members:
            return
        state.members.add(fp)
        index = first_seen_ms // self.bucket_ms
        bucket = state.buckets.get(index)
        if bucket is None:
            bucket = state.buckets[index] = array("q")
        bucket.append(fp)
        self._count += 1

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
        for state in self._partitions.values():
            for index in [i for i in state.buckets if (i + 1) * self.bucket_ms <= horizon]:
                bucket = state.buckets.pop(index)
                state.members.difference_update(bucket)
                removed += len(bucket)
        self._count -= removed
        return removed

    def drop_partition(self, partition: int) -> int:
        state = self._partitions.pop(partition, None)
        removed = len(state.members) if state is not None else 0
        self._count -= removed
        return removed

    def held(self, partition: int) -> int:
        state = self._partitions.get(partition)
        return len(state.members) if state is not None else 0

    def set_window(self, window_ms: int) -> None:
        if window_ms <= 0:
            raise ConfigError("dedup window must be positive")
        self.window_ms = window_ms
