"""The dedup window store: duplicates within the window, expiry by whole buckets,
partition isolation, and memory per held id."""

from __future__ import annotations

import gc
import tracemalloc

from eventyard.worker.dedup import DedupStore, fingerprint

HOUR = 3_600_000
WINDOW = 48 * HOUR


def fp(i: int | str) -> int:
    return fingerprint(f"ev-{i}".encode())


def test_first_copy_passes_second_is_duplicate() -> None:
    store = DedupStore(WINDOW)
    assert store.check_and_add(0, fp(1), now_ms=1_000) is False
    assert store.check_and_add(0, fp(1), now_ms=2_000) is True
    assert store.check_and_add(0, fp(2), now_ms=2_000) is False
    assert len(store) == 2


def test_partitions_are_independent_and_dropped_whole() -> None:
    store = DedupStore(WINDOW)
    store.add(0, fp(1), 0)
    store.add(1, fp(2), 0)
    assert not store.seen(1, fp(1))
    assert store.drop_partition(0) == 1
    assert not store.seen(0, fp(1))
    assert store.seen(1, fp(2))
    assert len(store) == 1
    assert store.partitions() == [1]


def test_expiry_keeps_ids_for_at_least_the_window_and_at_most_one_bucket_more() -> None:
    store = DedupStore(WINDOW)  # 1 h buckets
    t0 = 10 * WINDOW + 30 * 60_000  # half-way into a bucket
    store.add(0, fp(1), t0)
    store.expire(t0 + WINDOW - 1)
    assert store.seen(0, fp(1)), "inside the window: still a duplicate"
    store.expire(t0 + WINDOW + store.bucket_ms)
    assert not store.seen(0, fp(1)), "a bucket past the window: forgotten"
    assert len(store) == 0


def test_expire_drops_only_old_buckets() -> None:
    store = DedupStore(WINDOW)
    for hour in range(60):
        store.add(3, fp(hour), hour * HOUR)
    removed = store.expire(60 * HOUR)
    assert removed == 12  # hours 0..11 are wholly older than 48 h
    assert store.held(3) == 48
    assert not store.seen(3, fp(11)) and store.seen(3, fp(12))


def test_shorter_window_after_reload_moves_the_horizon() -> None:
    store = DedupStore(WINDOW)
    store.add(0, fp(1), 0)
    store.set_window(HOUR)
    store.expire(3 * HOUR)
    assert not store.seen(0, fp(1))


def test_fingerprint_is_stable_and_64_bit() -> None:
    assert fingerprint(b"ev-1") == fingerprint(b"ev-1")
    assert fingerprint(b"ev-1") != fingerprint(b"ev-2")
    assert -(2**63) <= fingerprint(b"x") < 2**63


def test_memory_per_held_id_is_under_100_bytes() -> None:
    n = 100_000
    ids = [f"0b6f3c2e-8d4a-4f1e-9c7b-{i:012d}".encode() for i in range(n)]  # UUID-like
    fps = [fingerprint(i) for i in ids]
    del ids
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    store = DedupStore(WINDOW)
    now = 100 * WINDOW
    for i, f in enumerate(fps):
        # Spread over 8 partitions and the whole window; int(str()) makes a fresh int, as
        # decoding an id from Kafka would, so tracemalloc counts it.
        store.add(i % 8, int(str(f)), now - (i * WINDOW) // n)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    per_id = (after - before) / n
    print(f"\ndedup store: {per_id:.1f} bytes per held id ({n} ids, 8 partitions)")
    assert len(store) == n
    assert per_id < 100


def test_restore_holds_only_committed_entries_inside_the_window() -> None:
    from eventyard.worker.changelog import Committed, encode_value, held_entries

    now, window = 10_000_000, 1_000_000
    records = [
        (0, b"committed", encode_value(now - 10, 41)),     # offset 41 < committed 42: held
        (0, b"in-flight", encode_value(now - 10, 42)),     # its batch was not committed
        (0, b"expired", encode_value(now - window - 1, 1)),
        (0, b"legacy", b"%d" % (now - 10)),                # no offset: written after acks
        (1, b"never-committed", encode_value(now - 10, 0)),
        (0, None, encode_value(now - 10, 1)),
        (0, b"junk", b"not-a-number"),
        # Direct-path entries count against raw partition 0's commit (7), not keyed's (42).
        (0, b"direct-committed", encode_value(now - 10, 6, raw=True)),
        (0, b"direct-in-flight", encode_value(now - 10, 7, raw=True)),
        (1, b"direct-never-committed", encode_value(now - 10, 0, raw=True)),
        # Routed straight from another raw partition (3, committed up to 100): its commit
        # decides, not raw 0's.
        (0, b"direct-from-3-committed", encode_value(now - 10, 99, raw=True, raw_partition=3)),
        (0, b"direct-from-3-in-flight", encode_value(now - 10, 100, raw=True, raw_partition=3)),
        (0, b"direct-from-5-never", encode_value(now - 10, 0, raw=True, raw_partition=5)),
    ]
    committed = Committed(keyed={0: 42}, raw={0: 7, 1: 0, 3: 100})
    held = list(held_entries(records, committed, now - window))
    assert [(p, k) for p, k, _ in held] == [
        (0, b"committed"), (0, b"legacy"), (0, b"direct-committed"),
        (0, b"direct-from-3-committed"),
    ]


def test_changelog_values_round_trip() -> None:
    from eventyard.worker.changelog import Entry, decode_value, encode_value

    assert decode_value(encode_value(123, 45)) == Entry(123, 45, raw=False)
    assert decode_value(encode_value(123, 45, raw=True)) == Entry(123, 45, raw=True)
    assert encode_value(123, 45, raw=True) == b"123:45:raw"  # what older workers wrote
    assert decode_value(encode_value(123, 45, raw=True, raw_partition=6)) == Entry(
        123, 45, raw=True, raw_partition=6)
    assert decode_value(b"123:45:cooked:6") is None
    assert decode_value(b"123") == Entry(123, None, raw=False)
    assert decode_value(b"12x:3") is None
    assert decode_value(None) is None
