"""End-to-end latency of one worker at a fixed offered load, from record timestamps.

Latency of an event = CreateTime of its warehouse record − CreateTime of its raw record.
Both are stamped by aiokafka (time.time() when the record is appended to a producer
batch) on this one machine, so no clock skew. Included: the load generator's linger
(≤ producer_linger_ms), the broker, the worker's fetch of raw, hop A, the keyed
round-trip through the broker, the fetch of keyed, hop B up to the send() of the
warehouse record. Not included: the warehouse record's own linger and acknowledgement.
When both copies of a duplicate were sent, the earlier raw copy's time counts.
"""

from __future__ import annotations

import asyncio
import gc
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiokafka.structs import RecordMetadata

from bench import harness
from bench.workload import Workload, expect
from eventyard.runtime import kafka
from eventyard.runtime.settings import Settings
from eventyard.runtime.topics import ensure_topics

TICK_S = 0.002
WARMUP_S = 2.0  # first metadata fetches and connections of a fresh worker, not steady state


@dataclass
class Latency:
    offered_eps: float
    achieved_eps: float
    events: int
    samples: int
    p50: float
    p95: float
    p99: float
    max: float


async def paced_produce(
    settings: Settings, work: Workload, rate: float
) -> list[RecordMetadata]:
    """Send the records at `rate`/s on a fine clock; returns their metadata in order."""
    producer = kafka.producer(settings)
    await producer.start()
    loop = asyncio.get_running_loop()
    futures: list[asyncio.Future[RecordMetadata]] = []
    try:
        start = loop.time()
        sent = 0
        while sent < work.n:
            due = min(work.n, int((loop.time() - start) * rate) + 1)
            while sent < due:
                rec = work.records[sent]
                futures.append(await producer.send(settings.topic_raw, rec.value, key=rec.key))
                sent += 1
            await asyncio.sleep(TICK_S)
        return list(await asyncio.gather(*futures))
    finally:
        await producer.stop()


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: the value some sample really had)."""
    rank = max(1, round(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def measure(rate: float, duration_s: float, policy_path: str, tmp: Path) -> Latency:
    work = expect(max(1, int(rate * duration_s)), policy_path, seed=11)
    with harness.broker(tmp) as b:
        space = harness.Space(b.bootstrap, tmp)
        s = space.settings
        asyncio.run(ensure_topics(s))
        [worker] = harness.start_workers(space, 1)
        try:
            worker.wait_assigned(timeout=60)
            # The bench process holds every run's data; a full collection here would stall
            # the load generator while records sit in its accumulator with their CreateTime
            # already stamped, which reads as worker latency. No cyclic GC while pacing.
            gc.collect()
            gc.freeze()
            gc.disable()
            try:
                metadata = asyncio.run(paced_produce(s, work, rate))
            finally:
                gc.enable()
                gc.unfreeze()
            harness.wait_done([worker], work, timeout_s=120)
            worker.terminate()
        finally:
            worker.kill()
        _, warehouse = asyncio.run(
            harness.read_back(s, [s.topic_warehouse], keep=s.topic_warehouse)
        )
    raw_ms: dict[str, int] = {}
    for _rec, fate, md in zip(work.records, work.fates, metadata, strict=True):
        if fate.event_id is not None:
            key = fate.event_id.decode()
            raw_ms[key] = min(md.timestamp, raw_ms.get(key, md.timestamp))
    start_ms = min(md.timestamp for md in metadata)
    end_ms = max(md.timestamp for md in metadata)
    lat: list[float] = []
    for ts, value in warehouse:
        sent = raw_ms[orjson.loads(value)["eventId"]]
        if sent >= start_ms + WARMUP_S * 1000:
            lat.append(float(ts - sent))
    lat.sort()
    return Latency(
        offered_eps=rate, achieved_eps=work.n / max(0.001, (end_ms - start_ms) / 1000),
        events=work.n, samples=len(lat), p50=percentile(lat, 50), p95=percentile(lat, 95),
        p99=percentile(lat, 99), max=lat[-1],
    )

