"""The per-record steps (admit_raw, route_keyed) and the direct path, on ConsumerRecords in
memory (no broker): which path a raw record takes, and that every copy of an eventId meets
in one dedup partition."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from aiokafka.structs import ConsumerRecord

from eventyard.contract.headers import H_REDRIVE_COUNT, H_SOURCE_KEY, H_SOURCE_OFFSET
from eventyard.kafka.partitioning import partition_for
from eventyard.policy import load_policy
from eventyard.policy.compiled import CompiledPolicy
from eventyard.settings import Settings
from eventyard.worker import changelog, duplicates
from eventyard.worker.dedup import DedupStore, fingerprint
from eventyard.worker.dispatch import Batch, Direct, Record, admit_raw, route_keyed

ROOT = Path(__file__).resolve().parents[2]
PARTITIONS = 8
NOW = 1_800_000_000_000
SETTINGS = Settings(bootstrap_servers="unused:9092")


@pytest.fixture(scope="module")
def policy() -> CompiledPolicy:
    return load_policy(ROOT / "config" / "routing.yaml")


def _event(event_id: str, **extra: object) -> bytes:
    return orjson.dumps({"event": "SignUp", "eventId": event_id, "userId": "u-1",
                         "email": "ada@example.com", **extra})


def _rec(topic: str, partition: int, offset: int, key: bytes | None, value: bytes,
         headers: list[tuple[str, bytes]] | None = None) -> Record:
    return ConsumerRecord(topic, partition, offset, NOW, 0, key, value, None,
                          len(key or b""), len(value), headers or [])


def _home(event_id: str) -> int:
    return partition_for(event_id.encode(), PARTITIONS)


def _direct(*partitions: int) -> Direct:
    return Direct(frozenset(partitions), PARTITIONS)


def test_raw_record_keyed_by_its_event_id_is_routed_from_raw(policy: CompiledPolicy) -> None:
    p = _home("e-1")
    batch, store = Batch(now_ms=NOW), DedupStore(policy.dedup_window_ms)
    admit_raw(SETTINGS, _rec(SETTINGS.topic_raw, p, 17, b"e-1", _event("e-1")), policy, store,
          _direct(p), batch)
    topics = {s.topic for s in batch.sends}
    assert SETTINGS.topic_keyed not in topics
    assert SETTINGS.topic_warehouse in topics and SETTINGS.topic_ads in topics
    assert (batch.consumed, batch.unique, batch.rekeyed) == (1, 1, 0)
    # The changelog entry names the raw offset, so restore checks raw p's commit.
    assert batch.first_seen == [(p, b"e-1", 17, p)]


@pytest.mark.parametrize(
    ("key", "partition_shift"),
    [
        (b"u-1", 3),      # keyed by user, on another raw partition than its eventId's
        (None, 5),        # no key at all
        (b"e-1", 1),      # keyed by its eventId, but not on the partition its hash gives
    ],
)
def test_any_raw_record_of_a_held_dedup_partition_is_routed_from_raw(
    policy: CompiledPolicy, key: bytes | None, partition_shift: int
) -> None:
    """Whatever its key and raw partition: the copies of its eventId meet in dedup
    partition `home`, which this worker holds."""
    home = _home("e-1")
    q = (home + partition_shift) % PARTITIONS
    batch, store = Batch(now_ms=NOW), DedupStore(policy.dedup_window_ms)
    admit_raw(SETTINGS, _rec(SETTINGS.topic_raw, q, 5, key, _event("e-1")), policy, store,
              _direct(home), batch)
    assert SETTINGS.topic_keyed not in {s.topic for s in batch.sends}
    assert (batch.rekeyed, batch.unique) == (0, 1)
    # Remembered in dedup partition `home`; the changelog entry names raw q's offset.
    assert store.seen(home, fingerprint(b"e-1")) and not store.seen(q, fingerprint(b"e-1"))
    assert batch.first_seen == [(home, b"e-1", 5, q)]
    [entry] = changelog.entries(SETTINGS.topic_dedup, NOW, batch.first_seen)
    assert entry.partition == home
    assert changelog.decode_value(entry.value) == changelog.Entry(NOW, 5, raw=True,
                                                                  raw_partition=q)


@pytest.mark.parametrize(
    ("key", "partition_shift"),
    [(b"u-1", 3), (None, 0), (b"e-1", 0)],
)
def test_a_raw_record_whose_dedup_partition_is_held_elsewhere_takes_the_keyed_hop(
    policy: CompiledPolicy, key: bytes | None, partition_shift: int
) -> None:
    home = _home("e-1")
    q = (home + partition_shift) % PARTITIONS
    batch, store = Batch(now_ms=NOW), DedupStore(policy.dedup_window_ms)
    others = [p for p in range(PARTITIONS) if p != home]
    admit_raw(SETTINGS, _rec(SETTINGS.topic_raw, q, 5, key, _event("e-1")), policy, store,
              _direct(*others), batch)
    [send] = batch.sends
    assert (send.topic, send.key, send.partition) == (SETTINGS.topic_keyed, b"e-1", None)
    assert (batch.rekeyed, batch.unique, batch.first_seen) == (1, 0, [])
    headers = dict(send.headers)
    assert headers[H_SOURCE_OFFSET] == b"5"
    assert headers.get(H_SOURCE_KEY) == key


def test_copies_on_both_paths_meet_in_one_dedup_partition(policy: CompiledPolicy) -> None:
    """A direct copy and a re-keyed copy of one eventId: whichever comes first is routed,
    the other is a duplicate."""
    p = _home("e-2")
    store = DedupStore(policy.dedup_window_ms)
    first = Batch(now_ms=NOW)
    admit_raw(SETTINGS, _rec(SETTINGS.topic_raw, p, 1, b"e-2", _event("e-2")), policy, store,
          _direct(p), first)
    # The server copy, keyed by user, was re-keyed elsewhere and lands on keyed p.
    second = Batch(now_ms=NOW)
    route_keyed(SETTINGS, _rec(SETTINGS.topic_keyed, p, 9, b"e-2", _event("e-2", source="server")),
          policy, store, second)
    assert (first.unique, second.duplicates) == (1, 1)
    # The dropped copy leaves only a trace: its eventId and raw coordinates, no payload,
    # in the dedup partition (what `eventyard trace` reads).
    [trace] = second.sends
    assert (trace.topic, trace.key, trace.partition, trace.headers) == (
        SETTINGS.topic_duplicates, b"e-2", p, [])
    dup = duplicates.decode(trace.value)
    assert dup == duplicates.DuplicateRecord("e-2", NOW, SETTINGS.topic_keyed, p, 9, NOW)
    assert b"u-1" not in (trace.value or b"") and b"ada" not in (trace.value or b"")

    # And the other way round: the keyed copy first, the direct copy is the duplicate.
    store = DedupStore(policy.dedup_window_ms)
    keyed, raw = Batch(now_ms=NOW), Batch(now_ms=NOW)
    route_keyed(SETTINGS, _rec(SETTINGS.topic_keyed, p, 9, b"e-2", _event("e-2")), policy, store,
          keyed)
    admit_raw(SETTINGS, _rec(SETTINGS.topic_raw, p, 1, b"e-2", _event("e-2")), policy, store,
          _direct(p), raw)
    assert (keyed.unique, raw.duplicates, raw.rekeyed) == (1, 1, 0)
    [trace] = raw.sends
    assert duplicates.decode(trace.value) == duplicates.DuplicateRecord(
        "e-2", NOW, SETTINGS.topic_raw, p, 1, NOW)


def test_redrive_count_travels_to_the_dead_letter(policy: CompiledPolicy) -> None:
    """A redriven record that fails again keeps its redrive count on both paths, so
    `eventyard dlq redrive` can refuse it after the maximum."""
    p = _home("e-9")
    bad = _event("e-9", consent={"ads": "no"})
    count = [(H_REDRIVE_COUNT, b"2")]
    direct = Batch(now_ms=NOW)
    admit_raw(SETTINGS, _rec(SETTINGS.topic_raw, p, 3, b"e-9", bad, count), policy,
              DedupStore(policy.dedup_window_ms), _direct(p), direct)
    [dl] = direct.sends
    assert dict(dl.headers)[H_REDRIVE_COUNT] == b"2"
    # Keyed by user: re-keyed first, and the keyed record carries the count on.
    hop1 = Batch(now_ms=NOW)
    admit_raw(SETTINGS, _rec(SETTINGS.topic_raw, 0, 3, b"u-1", _event("e-9", event="Custom"),
                             count), policy, DedupStore(1000), _direct(), hop1)
    [keyed] = hop1.sends
    assert dict(keyed.headers)[H_REDRIVE_COUNT] == b"2"


def test_direct_dead_letter_keeps_the_raw_key_and_coordinates(policy: CompiledPolicy) -> None:
    p = _home("e-3")
    value = _event("e-3", consent={"ads": "no"})
    batch, store = Batch(now_ms=NOW), DedupStore(policy.dedup_window_ms)
    admit_raw(SETTINGS, _rec(SETTINGS.topic_raw, p, 44, b"e-3", value), policy, store,
          _direct(p), batch)
    [dl] = batch.sends
    headers = dict(dl.headers)
    assert (dl.topic, dl.key, dl.value) == (SETTINGS.topic_dlq, b"e-3", value)
    assert headers["eventyard-reason"] == b"contract.consent.value_type"
    assert headers["eventyard-source-topic"] == SETTINGS.topic_raw.encode()
    assert headers[H_SOURCE_OFFSET] == b"44"
    assert batch.dead_letters == {"contract.consent.value_type": 1}
    assert batch.first_seen == []


def test_batch_tallies_add_up_the_outcomes_of_its_events(policy: CompiledPolicy) -> None:
    """routed/skipped/warnings are counted once per batch from what each event appended
    (skip mappings shared between events by identity): they must equal a count made
    event by event from the core's own outcomes."""
    from collections import Counter

    from eventyard import core
    from eventyard.local.traffic import generate
    from eventyard.routing.outcome import Routed

    batch, store = Batch(now_ms=NOW), DedupStore(policy.dedup_window_ms)
    routed: Counter[tuple[str, str]] = Counter()
    skipped: Counter[tuple[str, str]] = Counter()
    warned: Counter[str] = Counter()
    for offset, raw in enumerate(generate(400, now_ms=NOW, seed=3, duplicate_ratio=0.0)):
        outcome = core.process(raw.value, NOW, policy, NOW)
        if isinstance(outcome, Routed):
            routed.update((o.destination, o.klass) for o in outcome.records)
            skipped.update(outcome.skipped.items())
            warned.update(w.code for w in outcome.warnings)
        rec = _rec(SETTINGS.topic_raw, 0, offset, raw.key, raw.value)
        admit_raw(SETTINGS, rec, policy, store, _direct(*range(PARTITIONS)), batch)
    assert sum(skipped.values()) > 0 and len(skipped) > 3
    assert (batch.routed, batch.skipped, batch.warnings) == (routed, skipped, warned)
