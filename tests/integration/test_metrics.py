"""/metrics over HTTP agrees with what the topics hold, and hostile traffic cannot grow the
number of series (issue: observability)."""

from __future__ import annotations

import random
import time
from collections import Counter

import orjson
import pytest

from eventyard.local.traffic import generate

from .conftest import Record, WorkerProcess, Yard, headers_of, metric_sum

pytestmark = pytest.mark.integration


def series(worker: WorkerProcess) -> set[str]:
    return {k for k in worker.metrics() if k.startswith("eventyard_")}


def wait_consumed(worker: WorkerProcess, n: int, timeout: float = 60.0) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        m = worker.metrics()
        # consumed counts raw records; the batch that routes them finishes a hop later.
        routed = metric_sum(m, "eventyard_events_unique_total") + metric_sum(
            m, "eventyard_duplicates_total"
        ) + metric_sum(m, "eventyard_dead_letters_total")
        if metric_sum(m, "eventyard_events_consumed_total") >= n and routed >= n:
            return m
        assert time.monotonic() < deadline, f"stuck: {m}"
        time.sleep(0.3)


async def test_metrics_equal_topic_counts(yard: Yard) -> None:
    s = yard.settings
    now = int(time.time() * 1000)
    traffic = list(generate(3000, now_ms=now, seed=11))
    worker = yard.worker()
    worker.wait_assigned()
    await yard.send([(r.key, r.value) for r in traffic])
    m = wait_consumed(worker, len(traffic))
    async with yard.reader() as reader:
        got = await reader.drain()

    def by_destination(records: list[Record]) -> Counter[str]:
        return Counter(orjson.loads(r.value)["destination"] for r in records)

    topics = by_destination(got[s.topic_ads]) + by_destination(got[s.topic_crm]) + (
        by_destination(got[s.topic_warehouse])
    )
    for destination, count in topics.items():
        assert metric_sum(m, f'eventyard_events_routed_total{{class="{_class(destination)}",'
                             f'destination="{destination}"}}') == count, destination
    reasons = Counter(headers_of(r)["eventyard-reason"].decode() for r in got[s.topic_dlq])
    for reason, count in reasons.items():
        assert m[f'eventyard_dead_letters_total{{reason="{reason}"}}'] == count
    assert metric_sum(m, "eventyard_events_consumed_total") == len(traffic)
    assert metric_sum(m, "eventyard_events_unique_total") == len(got[s.topic_warehouse])
    assert metric_sum(m, "eventyard_duplicates_total") == sum(r.duplicate for r in traffic)
    assert m["eventyard_processing_seconds_count"] > 0
    # Every raw record is observed once when fetched; the waits are this run's, not epochs.
    assert m["eventyard_fetch_wait_seconds_count"] == len(traffic)
    assert 0 < m["eventyard_fetch_wait_seconds_sum"] / len(traffic) < 60
    assert metric_sum(m, "eventyard_event_lag_seconds_count") > 0
    worker.terminate()


def _class(destination: str) -> str:
    return {"hubspot": "crm", "salesforce": "crm", "warehouse": "warehouse"}.get(
        destination, "ads"
    )


async def test_random_names_and_values_add_no_series(yard: Yard) -> None:
    rng = random.Random(3)
    worker = yard.worker()
    worker.wait_assigned()

    def hostile(n: int, tag: str) -> list[tuple[bytes | None, bytes]]:
        out = []
        for i in range(n):
            ev = {
                "event": f"Custom{rng.getrandbits(40):x}",  # a new custom name every time
                "eventId": f"{tag}-{i}",
                "userId": f"u{rng.getrandbits(48)}",
                "email": f"x{rng.getrandbits(32)}@example.com",
                "properties": {f"k{rng.getrandbits(16)}": rng.random()},
            }
            out.append((None, orjson.dumps(ev)))
            if i % 50 == 0:  # and broken records with random garbage
                out.append((None, f'{{"event": "Bad", "eventId": "{rng.random()}"'.encode()))
        return out

    first = hostile(1000, "a")
    await yard.send(first)
    wait_consumed(worker, len(first))
    before = series(worker)
    second = hostile(10_000, "b")
    await yard.send(second)
    wait_consumed(worker, len(first) + len(second), timeout=120)
    after = series(worker)
    # Lag series are one per assigned partition (bounded by the topics' partition count) and
    # appear once a partition's high watermark is known: compare them by that bound instead.
    lag = {k for k in after if k.startswith("eventyard_consumer_lag{")}
    s = yard.settings
    allowed = {f'eventyard_consumer_lag{{partition="{p}",topic="{t}"}}'
               for t in (s.topic_raw, s.topic_keyed) for p in range(s.partitions)}
    assert lag <= allowed
    before -= allowed
    after -= allowed
    assert after == before, f"new series: {sorted(after - before)[:10]}"
    worker.terminate()
