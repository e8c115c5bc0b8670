"""The broker's own latency drift, with bare aiokafka clients and no eventyard code.

`python -m bench.broker_drift [--seconds 15]` (also `make bench-broker`). Tansu's memory
store keeps every record batch as one object, and a fetch lists the objects of each
partition it reads (broker.md §2), so fetch cost grows with the batches stored in the
fetched partitions, and produce requests queue behind those fetches. The latency run
(bench/latency.py) stores ~1k raw batches per second, so both the worker's and the echo's
figures drift within a run; this separates that drift from anything eventyard does.

Per run, one writer paces records into topic `in` (8 partitions); one reader fetches `in`
as fast as it can (the worker's and the echo's consumer) and times each record from its
CreateTime to its arrival; two probes produce one batch per 10 ms, one to 8 partitions of
`out` (the echo's produce), one to 32 partitions (the worker's ads, crm, warehouse and
changelog partitions). Two runs at the same record rate: one record per batch, and ten.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition

from bench import harness

PARTITIONS = 8
RECORDS_PER_S = 2000
VALUE = b"x" * 600
PROBE_EVERY_S = 0.01


@dataclass
class Second:
    batches_stored: int = 0
    fetch_ms: list[float] = field(default_factory=list)
    ack_ms: dict[int, list[float]] = field(default_factory=dict)


async def _writer(producer: AIOKafkaProducer, topic: str, per_batch: int, seconds: float,
                  stored: list[int]) -> None:
    loop = asyncio.get_running_loop()
    start, sent, pending = loop.time(), 0, []
    while loop.time() - start < seconds:
        due = int((loop.time() - start) * RECORDS_PER_S)
        while sent < due:
            batch = producer.create_batch()
            for _ in range(per_batch):
                batch.append(key=None, value=VALUE, timestamp=None)
            batch.close()
            partition = stored[0] % PARTITIONS
            pending.append(await producer.send_batch(batch, topic, partition=partition))
            stored[0] += 1
            sent += per_batch
        await asyncio.sleep(0.001)
    await asyncio.gather(*pending)


async def _probe(producer: AIOKafkaProducer, topic: str, partitions: int, seconds: float,
                 out: list[tuple[float, float]]) -> None:
    """(time, ack ms) of one request holding one small batch per partition."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        futures = []
        for p in range(partitions):
            batch = producer.create_batch()
            batch.append(key=b"k", value=VALUE, timestamp=None)
            batch.close()
            futures.append(await producer.send_batch(batch, topic, partition=p))
        await asyncio.gather(*futures)
        out.append((time.monotonic(), (time.perf_counter() - started) * 1000))
        await asyncio.sleep(PROBE_EVERY_S)


async def run(bootstrap: str, per_batch: int, seconds: float) -> list[Second]:
    # Fresh names per run: with EVENTYARD_BOOTSTRAP_SERVERS the cluster is shared.
    topic_in, topic_out = (f"drift-{uuid.uuid4().hex[:8]}-{t}" for t in ("in", "out"))
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic_in, PARTITIONS, 1), NewTopic(topic_out, 32, 1)])
    await admin.close()
    clients = [AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all") for _ in range(3)]
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                              fetch_max_wait_ms=10)
    for c in (*clients, reader):
        await c.start()
    reader.assign([TopicPartition(topic_in, p) for p in range(PARTITIONS)])
    for p in range(PARTITIONS):
        reader.seek(TopicPartition(topic_in, p), 0)
    stored = [0]
    acks: dict[int, list[tuple[float, float]]] = {8: [], 32: []}
    start = time.monotonic()
    tasks = [asyncio.create_task(_writer(clients[0], topic_in, per_batch, seconds, stored)),
             asyncio.create_task(_probe(clients[1], topic_out, 8, seconds, acks[8])),
             asyncio.create_task(_probe(clients[2], topic_out, 32, seconds, acks[32]))]
    seconds_out: list[Second] = [Second() for _ in range(int(seconds))]
    try:
        while not tasks[0].done():
            got = await reader.getmany(timeout_ms=100)
            now = time.time() * 1000
            sec = int(time.monotonic() - start)
            if sec < len(seconds_out):
                seconds_out[sec].batches_stored = stored[0]
                seconds_out[sec].fetch_ms.extend(
                    now - r.timestamp for recs in got.values() for r in recs)
        await asyncio.gather(*tasks)
    finally:
        for c in (*clients, reader):
            await c.stop()
    for n, samples in acks.items():
        for t, ms in samples:
            sec = int(t - start)
            if sec < len(seconds_out):
                seconds_out[sec].ack_ms.setdefault(n, []).append(ms)
    return seconds_out


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


PER_BATCH = (1, 10)


def measure(seconds: float, tmp: Path) -> dict[int, list[Second]]:
    """Both runs, each on a fresh broker; keyed by records per batch."""
    results = {}
    for per_batch in PER_BATCH:
        with harness.broker(tmp) as b:
            results[per_batch] = asyncio.run(run(b.bootstrap, per_batch, seconds))
    return results


def summary(results: dict[int, list[Second]]) -> list[dict[str, float]]:
    """First and last second of each run, for results.json and the bench table."""
    out = []
    for per_batch, secs in results.items():
        first, last = secs[0], secs[-1]
        out.append({
            "records_per_batch": per_batch, "stored_batches": last.batches_stored,
            "fetch_p50_first_ms": _med(first.fetch_ms), "fetch_p50_last_ms": _med(last.fetch_ms),
            "ack32_first_ms": _med(first.ack_ms.get(32, [])),
            "ack32_last_ms": _med(last.ack_ms.get(32, [])),
        })
    return out


def main(argv: list[str] | None = None) -> int:
    """python -m bench.broker_drift [--seconds 15]"""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args(argv)
    results = measure(args.seconds, harness.scratch_dir())
    print(f"Bare aiokafka on the bench's broker, {RECORDS_PER_S:,} records/s into "
          f"{PARTITIONS} partitions: fetch latency (CreateTime to arrival, ms) and the "
          "ack time of one produce request to 8 and to 32 partitions (median ms)")
    print(f"{'':>6}{'1 record per batch':^38}{'10 records per batch':^38}")
    head = f"{'stored':>9}{'fetch p50':>10}{'ack 8':>8}{'ack 32':>8}   "
    print(f"{'second':>6}{head}{head}")
    for sec in range(int(args.seconds)):
        cells = []
        for per_batch in PER_BATCH:
            s = results[per_batch][sec]
            cells.append(f"{s.batches_stored:>9,}{_med(s.fetch_ms):>10.1f}"
                         f"{_med(s.ack_ms.get(8, [])):>8.1f}{_med(s.ack_ms.get(32, [])):>8.1f}   ")
        print(f"{sec:>6}{''.join(cells)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
