"""SIGKILL a worker mid-stream and restart it: nothing is lost, and the duplicates in the
outputs are bounded by what was in flight: the batch being routed plus MAX_SETTLING
batches awaiting their acknowledgements and commit."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter

import orjson
import pytest

from eventyard.local.traffic import generate
from eventyard.worker.checkpoint import MAX_SETTLING

from .conftest import Record, WorkerProcess, Yard, headers_of, metric_sum

pytestmark = pytest.mark.integration

N = 20_000
BATCH = 2000
BOUND = (1 + MAX_SETTLING) * BATCH


async def _unique_routed(worker: WorkerProcess, at_least: int, timeout: float = 90.0) -> int:
    """Poll the worker's eventyard_events_unique_total until it reaches `at_least`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):  # its HTTP server is not up yet
            routed = int(metric_sum(worker.metrics(), "eventyard_events_unique_total"))
            if routed >= at_least:
                return routed
        await asyncio.sleep(0.02)
    raise TimeoutError(f"the worker routed fewer than {at_least} events in {timeout:.0f}s")


def warehouse_ids(records: dict[str, list[Record]], topic: str) -> Counter[str]:
    return Counter(orjson.loads(r.value)["eventId"] for r in records[topic])


async def test_sigkill_mid_stream_loses_nothing(yard: Yard) -> None:
    yard.env["EVENTYARD_BATCH_MAX_RECORDS"] = str(BATCH)
    s = yard.settings
    traffic = list(generate(N, now_ms=int(time.time() * 1000), seed=11))
    valid_ids = {r.event_id for r in traffic if r.event_id is not None}
    n_broken = sum(1 for r in traffic if r.event_id is None)
    assert await yard.send([(r.key, r.value) for r in traffic]) == N

    first = yard.worker("first")
    async with yard.reader() as reader:
        # Kill once part, but not all, of the stream is out: watched on the worker's own
        # counter, which a scrape reads at once (reading the topic back lags the worker).
        killed_at = await _unique_routed(first, at_least=len(valid_ids) // 10)
        first.kill()
        assert killed_at < len(valid_ids), "worker finished before the kill; raise N"

        second = yard.worker("second")
        got = await reader.wait_for(
            lambda r: set(warehouse_ids(r, s.topic_warehouse)) >= valid_ids
            and len({(h["eventyard-source-partition"], h["eventyard-source-offset"])
                     for h in map(headers_of, r[s.topic_dlq])}) >= n_broken,
            timeout=120,
        )
        assert second.terminate() == 0
        got = await reader.drain()

    ids = warehouse_ids(got, s.topic_warehouse)
    assert set(ids) == valid_ids, "every valid eventId reaches the warehouse"
    duplicates = sum(n - 1 for n in ids.values())
    dlq_sources = Counter(
        (h["eventyard-source-partition"], h["eventyard-source-offset"])
        for h in map(headers_of, got[s.topic_dlq])
    )
    assert len(dlq_sources) == n_broken, "every broken record is dead-lettered"
    dlq_duplicates = sum(n - 1 for n in dlq_sources.values())
    print(
        f"\ncrash test: {N} raw records, {len(valid_ids)} unique events, killed after "
        f"{killed_at} were routed; duplicate warehouse records after restart: "
        f"{duplicates}, duplicate dead letters: {dlq_duplicates} "
        f"(bound: a batch being routed + {MAX_SETTLING} settling = {BOUND} records)"
    )
    assert duplicates <= BOUND
    assert dlq_duplicates <= BOUND
