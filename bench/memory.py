"""Bytes per eventId held by the dedup store (worker/dedup.py), in a fresh process.

    python -m bench.memory IDS

Builds the worker's own DedupStore with IDS ids the way a worker in steady state holds
them: spread over 8 keyed partitions and over the whole 48 h window (so every time bucket
is populated), fingerprinted from eventId strings like the traffic's. Two figures:
- RSS delta / id: what the OS sees, allocator slack and set over-allocation included.
  The headline, because that is what a pod's memory limit sees.
- object accounting / id: sys.getsizeof over every container and int the store holds
  (the membership set of ints, plus 8 bytes per id in the packed expiry arrays), as a
  cross-check that the RSS delta is the store and nothing else.
Also the cost of `seen()` for a new id with the whole window populated, which the short
throughput runs (one time bucket) cannot show.
Feeding a worker 1M events would take minutes here; the store is the only part of the
worker that grows with held ids, so worker RSS at 1M ids = a measured worker RSS plus
this figure times the ids it did not hold (bench/run.py).
"""

from __future__ import annotations

import gc
import os
import sys
import time

import orjson

from eventyard.worker.dedup import DedupStore, fingerprint

PARTITIONS = 8
WINDOW_MS = 48 * 3600 * 1000
LOOKUPS = 100_000


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def deep_size(store: DedupStore) -> int:
    parts = store._partitions  # the bench measures the store's real containers
    total = sys.getsizeof(parts)
    for state in parts.values():
        total += sys.getsizeof(state) + sys.getsizeof(state.members)
        total += sum(sys.getsizeof(fp) for fp in state.members)
        total += sys.getsizeof(state.buckets)
        total += sum(sys.getsizeof(i) + sys.getsizeof(b) for i, b in state.buckets.items())
    return total


def measure(ids: int) -> dict[str, float]:
    now = int(time.time() * 1000)
    gc.collect()
    before = rss_bytes()
    store = DedupStore(WINDOW_MS)
    step = WINDOW_MS / ids
    for i in range(ids):
        store.add(i % PARTITIONS, fingerprint(f"ev-{i:09d}".encode()), now - int(i * step))
    gc.collect()
    after = rss_bytes()
    assert len(store) == ids, "fingerprint collision in the bench's id set"
    # A throughput run lasts seconds, so its store has one time bucket per partition; a
    # worker in steady state has window/bucket of them. Timed here, where every bucket is
    # populated (a lookup is one set probe whatever the number of buckets).
    probes = [fingerprint(f"new-{i:09d}".encode()) for i in range(LOOKUPS)]
    start = time.perf_counter()
    for i, fp in enumerate(probes):
        store.seen(i % PARTITIONS, fp)
    lookup_us = (time.perf_counter() - start) / LOOKUPS * 1e6
    return {
        "ids": ids,
        "rss_delta_mib": (after - before) / 2**20,
        "bytes_per_id": (after - before) / ids,
        "object_bytes_per_id": deep_size(store) / ids,
        "process_rss_mib": after / 2**20,
        "buckets_per_partition": len(store._partitions[0].buckets),
        "miss_lookup_us": lookup_us,
    }


def main(argv: list[str]) -> int:
    sys.stdout.write(orjson.dumps(measure(int(argv[0]) if argv else 1_000_000)).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
