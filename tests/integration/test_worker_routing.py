"""A mixed batch through one worker: valid events, broken records and duplicates whose
copies land on different raw partitions. Expectations come from the pure core itself, so
the test stays true as the core evolves; a few assertions need only the runtime."""

from __future__ import annotations

import time
from collections import Counter

import orjson
import pytest
from aiokafka.partitioner import DefaultPartitioner

from eventyard import core
from eventyard.policy import load_policy
from eventyard.routing.outcome import DeadLetter, Routed

from .conftest import PARTITIONS, Record, Yard, headers_of, metric_sum

pytestmark = pytest.mark.integration

OUTPUTS = ("ads", "crm", "warehouse")


def raw_partition(key: bytes) -> int:
    parts = list(range(PARTITIONS))
    return int(DefaultPartitioner()(key, parts, parts))


def keys_on_different_partitions(base: str) -> tuple[bytes, bytes]:
    first = f"{base}-browser".encode()
    for i in range(100):
        other = f"{base}-server-{i}".encode()
        if raw_partition(other) != raw_partition(first):
            return first, other
    raise AssertionError("no second partition found")


def ev(**fields: object) -> bytes:
    return orjson.dumps(fields)


def mixed_records(now_ms: int) -> tuple[list[tuple[bytes | None, bytes]], list[bytes], int]:
    """(key, value) records, the invalid values, and the number of duplicate copies."""
    ts = now_ms - 60_000
    valid = [
        ev(event="PageView", eventId="pv-1", timestamp=ts, source="browser",
           anonymousId="anon-17", pageUrl="https://www.example-saas.com/pricing",
           ip="203.0.113.7", userAgent="Mozilla/5.0"),
        ev(event="SignUp", eventId="su-1", timestamp=ts, source="server", userId="user-42",
           email="Ada.Lovelace@Example.com", firstName="Ada", lastName="Lovelace",
           country="GB", companyDomain="acme.io"),
        ev(event="StartTrial", eventId="st-1", timestamp=ts, userId="user-42",
           properties={"plan": "team", "seats": 5}),
        ev(event="LeadCaptured", eventId="lc-1", timestamp=ts, email="grace@globex.com",
           phone="+1 (650) 555-0100", clickIds={"gclid": "Cj0KCQ123"}),
        ev(event="PageView", eventId="pv-2", timestamp=ts, anonymousId="anon-18",
           consent={"ads": False, "crm": True}),
        ev(event="InternalAuditPing", eventId="custom-1", timestamp=ts, userId="user-7"),
    ]
    records: list[tuple[bytes | None, bytes]] = [
        (orjson.loads(v)["eventId"].encode(), v) for v in valid
    ]
    # Client and server copies of one Purchase, keyed so they land on different partitions.
    k_browser, k_server = keys_on_different_partitions("session-9")
    purchase = dict(event="Purchase", eventId="pur-1", timestamp=ts, userId="user-42",
                    value=499.0, currency="USD", email="ada.lovelace@example.com")
    records.append((k_browser, ev(**purchase, source="browser")))
    records.append((k_server, ev(**purchase, source="server")))
    # A SignUp repeated by a retrying client under another key.
    k1, k2 = keys_on_different_partitions("retry")
    signup = ev(event="SignUp", eventId="su-2", timestamp=ts, userId="user-43",
                email="linus@initech.dev")
    records += [(k1, signup), (k2, signup), (None, signup)]
    duplicates = 1 + 2
    invalid = [
        b'{"event": "SignUp", "eventId": ',  # truncated JSON
        b"[1, 2, 3]",  # not an object
        b'"just a string"',  # not an object
        b"\xff\xfe not utf-8",
        ev(event="Purchase", eventId="bad-1", userId="u", value=49),  # no currency
        ev(event="LeadCaptured", eventId="bad-2", email="not-an-address"),
        ev(event="SignUp", eventid="bad-3", userId="u"),  # unknown field (typo)
        ev(event="SignUp", eventId="bad-4", userId="u", favouriteColour="blue"),
        ev(event="SignUp", eventId="bad-5"),  # no identity
        ev(event="SignUp", eventId="bad-6", userId="u", timestamp=now_ms + 3_600_000),
    ]
    records += [(b"bad-key-%d" % i if i % 2 else None, v) for i, v in enumerate(invalid)]
    return records, invalid, duplicates


def outputs_by(records: dict[str, list[Record]], yard: Yard) -> Counter[tuple[str, str]]:
    s = yard.settings
    found: Counter[tuple[str, str]] = Counter()
    for topic in (s.topic_ads, s.topic_crm, s.topic_warehouse):
        for r in records[topic]:
            destination = headers_of(r)["eventyard-destination"].decode()
            found[(destination, orjson.loads(r.value)["eventId"])] += 1
    return found


async def test_mixed_batch(yard: Yard) -> None:
    now_ms = int(time.time() * 1000)
    records, invalid, n_duplicates = mixed_records(now_ms)
    worker = yard.worker()
    assert await yard.send(records) == len(records)

    # What the pure core says should happen (dedup by eventId, first copy wins).
    policy = load_policy(yard.settings.policy_path)
    expected: Counter[tuple[str, str]] = Counter()
    expected_dlq: dict[bytes, str] = {}
    seen: set[str] = set()
    for _, value in records:
        admitted = core.admit(value, now_ms, now_ms)
        if isinstance(admitted, DeadLetter):
            expected_dlq[value] = admitted.reason
            continue
        if admitted.event_id in seen:
            continue
        seen.add(admitted.event_id)
        routed = core.process(value, now_ms, policy, now_ms)
        assert isinstance(routed, Routed)
        for out in routed.records:
            expected[(out.destination, routed.event_id)] += 1
    assert set(expected_dlq) == set(invalid)

    s = yard.settings
    async with yard.reader() as reader:
        got = await reader.wait_for(
            lambda r: len(r[s.topic_dlq]) >= len(invalid)
            and sum(outputs_by(r, yard).values()) >= sum(expected.values()),
        )
        worker.wait_assigned()
        # Settle: everything consumed and accounted for, then read once more for extras.
        deadline = time.monotonic() + 20
        while metric_sum(worker.metrics(), "eventyard_events_consumed_total") < len(records):
            assert time.monotonic() < deadline, worker.metrics()
            time.sleep(0.2)
        got = await reader.drain()

    # Outputs: exactly what the core produces, once per (destination, eventId).
    assert outputs_by(got, yard) == expected
    warehouse_ids = [orjson.loads(r.value)["eventId"] for r in got[s.topic_warehouse]]
    assert sorted(warehouse_ids) == sorted(seen)  # one warehouse record per unique eventId
    for topic in (s.topic_ads, s.topic_crm, s.topic_warehouse):
        for r in got[topic]:
            assert r.key, "output records are keyed by identity"

    # Dead letters: original bytes, original key, reason, detail and source coordinates.
    raw_by_value = {r.value: r for r in got[s.topic_raw]}
    dlq = got[s.topic_dlq]
    assert len(dlq) == len(invalid)
    for r in dlq:
        h = headers_of(r)
        assert r.value in expected_dlq
        assert h["eventyard-reason"].decode() == expected_dlq[r.value]
        assert h["eventyard-detail"]
        raw = raw_by_value[r.value]
        assert r.key == raw.key
        assert h["eventyard-source-topic"].decode() == s.topic_raw
        assert int(h["eventyard-source-partition"]) == raw.partition
        assert int(h["eventyard-source-offset"]) == raw.offset
        assert int(h["eventyard-source-timestamp"]) == raw.timestamp
        assert b"not-an-address" not in h["eventyard-detail"]  # never the PII value

    # One worker holds every dedup partition, so every record takes the direct path, the
    # copies keyed by session or user included (the keyed hop: test_two_workers.py).
    assert got[s.topic_keyed] == []
    purchase_partitions = {r.partition for r in got[s.topic_raw] if b'"pur-1"' in r.value}
    assert len(purchase_partitions) == 2, "the copies must arrive on different partitions"

    # Every consumed record is routed, a duplicate, or a dead letter — from the topics...
    assert len(got[s.topic_raw]) == len(seen) + len(dlq) + n_duplicates
    # ...and from the worker's own counters.
    m = worker.metrics()
    consumed = metric_sum(m, "eventyard_events_consumed_total")
    unique = metric_sum(m, "eventyard_events_unique_total")
    dups = metric_sum(m, "eventyard_duplicates_total")
    dead = metric_sum(m, "eventyard_dead_letters_total")
    assert (consumed, unique, dups, dead) == (len(records), len(seen), n_duplicates, len(dlq))
    assert metric_sum(m, "eventyard_events_routed_total") == sum(expected.values())
    assert m["eventyard_dedup_ids"] == len(seen)
    assert len(got[s.topic_dedup]) == len(seen)
    assert worker.terminate() == 0
