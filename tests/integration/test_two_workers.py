"""Two workers share the group's partitions; one leaves on SIGTERM and the other takes
over. Nothing is lost, and a graceful leave replays nothing."""

from __future__ import annotations

import time
from collections import Counter

import orjson
import pytest

from eventyard.local.traffic import generate

from .conftest import Record, WorkerProcess, Yard, headers_of, metric_sum

pytestmark = pytest.mark.integration

N = 8_000


def last_assignment(worker: WorkerProcess) -> str:
    lines = [ln for ln in worker.log().splitlines() if "] assigned " in ln]
    return lines[-1].split("] assigned ", 1)[1].strip() if lines else ""


def wait_split(a: WorkerProcess, b: WorkerProcess, timeout: float = 30.0) -> None:
    """Until both members hold raw partitions in the same (latest) generation."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        la, lb = last_assignment(a), last_assignment(b)
        if ".raw[" in la and ".raw[" in lb:
            return
        time.sleep(0.2)
    raise AssertionError(f"no split: {last_assignment(a)!r} / {last_assignment(b)!r}")


def _partitions(assignment: str, topic: str) -> str:
    """"a.raw[0, 1], a.keyed[0, 1]" -> "[0, 1]" for topic "a.raw"."""
    for part in assignment.split("], "):
        name, _, nums = part.partition("[")
        if name == topic:
            return nums.rstrip("]")
    return ""


def ids(records: dict[str, list[Record]], topic: str) -> Counter[str]:
    return Counter(orjson.loads(r.value)["eventId"] for r in records[topic])


async def test_two_workers_share_and_take_over(yard: Yard) -> None:
    s = yard.settings
    now = int(time.time() * 1000)
    traffic = list(generate(N, now_ms=now, seed=5, invalid_ratio=0.0, duplicate_ratio=0.02))
    first_half, second_half = traffic[: N // 2], traffic[N // 2 :]
    valid_ids = {r.event_id for r in traffic if r.event_id is not None}

    a, b = yard.worker("a"), yard.worker("b")
    wait_split(a, b)
    # The range assignor gives each member the same numbers of raw and keyed partitions,
    # so records keyed by their eventId are routed without the keyed hop.
    for w in (a, b):
        raw, keyed = (_partitions(last_assignment(w), t) for t in (s.topic_raw, s.topic_keyed))
        assert raw and raw == keyed, last_assignment(w)
    await yard.send([(r.key, r.value) for r in first_half])
    half_ids = {r.event_id for r in first_half if r.event_id is not None}
    async with yard.reader() as reader:
        await reader.wait_for(lambda r: set(ids(r, s.topic_warehouse)) >= half_ids, timeout=60)
        ma, mb = a.metrics(), b.metrics()
        assert metric_sum(ma, "eventyard_events_consumed_total") > 0
        assert metric_sum(mb, "eventyard_events_consumed_total") > 0
        assert metric_sum(ma, "eventyard_events_unique_total") > 0
        assert metric_sum(mb, "eventyard_events_unique_total") > 0
        consumed = sum(metric_sum(m, "eventyard_events_consumed_total") for m in (ma, mb))
        rekeyed = sum(metric_sum(m, "eventyard_events_rekeyed_total") for m in (ma, mb))
        # Only the ~2% duplicates are keyed by user, and those whose dedup partition the
        # other worker holds take the keyed hop; the rest take the direct path.
        assert 0 < rekeyed < 0.1 * consumed, (rekeyed, consumed)
        # The keyed hop re-keys by eventId and keeps the source coordinates.
        keyed = await reader.wait_for(lambda r: len(r[s.topic_keyed]) >= rekeyed, timeout=30)
        for r in keyed[s.topic_keyed]:
            assert r.key is not None and r.key.decode() == orjson.loads(r.value)["eventId"]
            assert headers_of(r)["eventyard-source-topic"].decode() == s.topic_raw

        assert a.terminate() == 0, a.log()[-3000:]
        await yard.send([(r.key, r.value) for r in second_half])
        got = await reader.wait_for(
            lambda r: set(ids(r, s.topic_warehouse)) >= valid_ids, timeout=60
        )
        assert ".raw[0, 1, 2, 3]" in last_assignment(b), "b took over every partition"
        assert b.terminate() == 0
        got = await reader.drain()

    warehouse = ids(got, s.topic_warehouse)
    assert set(warehouse) == valid_ids
    replayed = sum(n - 1 for n in warehouse.values())
    print(f"\ntwo workers: {len(valid_ids)} unique events, {replayed} replayed after SIGTERM")
    assert replayed == 0, "a graceful leave commits its last batch: nothing is routed twice"
