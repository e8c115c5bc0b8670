"""The floor: a bare aiokafka passthrough that writes what the router writes, and nothing else.

    python -m bench.floor PLAN.pickle EVENTS batch|send   (EVENTYARD_* env, as a worker)

It runs in its own process like a worker, with the worker's own client factories
(kafka/clients.py: same producer linger/batch/acks, same group consumer) and the worker's
commit discipline: getmany(batch_max_records) → send everything → await every delivery
future → commit. Per raw record it looks the records to send up in a plan built by the
bench with the worker's own per-record steps for that very record (`build_plan`: same
topics, keys, partitions, value sizes and header bytes), so the floor moves exactly the
router's byte volume with no decode, validation or routing. Values are shared zero-filled
blobs per size: Kafka does not look inside them and compression is off, so the bytes on
the wire match.

Variants (see bench/README.md):
- "outputs": the records the router writes for others only: ads/crm/warehouse/dlq, and
  the trace each dropped duplicate leaves on the duplicates topic.
- "full": also the worker's internal writes: one keyed record per record that takes the
  keyed hop (none for one process holding every partition: every record takes the direct
  path) and one dedup changelog record per routed event. The second consume of
  the keyed topic is not reproduced: that is part of what the keyed hop costs the worker.

Produce modes:
- "batch": the worker's own publisher (kafka/producer.py: a BatchBuilder per partition,
  closed and sent with one send_batch() each); the headline floor, so both sides use the
  same client code.
- "send": one producer.send() and one delivery future per record, aiokafka's plain API.
- "echo": no plan; each raw record is copied unchanged (value, key) to the warehouse topic,
  batch produce. The latency floor (bench/latency.py): the same fetch, produce and commit
  path at the same offered load, with the eventId still readable in the output.
"""

from __future__ import annotations

import asyncio
import gc
import os
import pickle
import sys
import time
from collections.abc import Awaitable
from typing import TypeAlias

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.structs import OffsetAndMetadata, RecordMetadata

from bench.workload import Workload, raw_record
from eventyard.kafka import clients as kafka
from eventyard.kafka.producer import BatchSender
from eventyard.kafka.producer import Send as OutSend
from eventyard.policy import load_policy
from eventyard.settings import Settings
from eventyard.worker import changelog
from eventyard.worker.dedup import DedupStore
from eventyard.worker.dispatch import Batch, Direct, simulate

Headers: TypeAlias = list[tuple[str, bytes]]
# (topic, key, value size, headers, partition, keep the raw record's timestamp)
Send: TypeAlias = tuple[str, bytes | None, int, Headers, int | None, bool]
Plan: TypeAlias = dict[tuple[int, int], tuple[Send, ...]]

VARIANTS = ("outputs", "full")
PRODUCE_MODES = ("batch", "send", "echo")


def build_plan(
    settings: Settings, work: Workload, metadata: list[RecordMetadata], variant: str
) -> Plan:
    """(raw partition, offset) → the records the worker sends for that raw record, as the
    worker's own steps produce them (worker/dispatch.py `simulate`), for one process that
    holds every partition, as the floor does: every raw record takes the direct path."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown floor variant {variant!r}")
    internal = () if variant == "full" else (settings.topic_keyed, settings.topic_dedup)
    policy = load_policy(work.policy_path)
    store = DedupStore(policy.dedup_window_ms)
    everything_held = Direct(frozenset(range(settings.partitions)), settings.partitions)
    plan: Plan = {}
    for rec, md in zip(work.records, metadata, strict=True):
        batch = Batch(now_ms=work.now_ms)
        simulate(settings, raw_record(settings, rec, md.partition, md.offset, md.timestamp),
                 policy, store, everything_held, batch)
        sends = [*batch.sends,
                 *changelog.entries(settings.topic_dedup, batch.now_ms, batch.first_seen)]
        plan[(md.partition, md.offset)] = tuple(
            (s.topic, s.key, len(s.value or b""), s.headers, s.partition,
             s.timestamp_ms is not None)
            for s in sends if s.topic not in internal
        )
    return plan


class _PerRecord:
    """aiokafka's plain API: one `send()` (and one delivery future) per record."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self.futures: list[Awaitable[object]] = []

    async def add(self, topic: str, key: bytes | None, value: bytes, headers: Headers,
                  partition: int | None, timestamp_ms: int | None) -> None:
        self.futures.append(await self.producer.send(
            topic, value=value, key=key, partition=partition, headers=headers,
            timestamp_ms=timestamp_ms,
        ))

    async def flush(self) -> int:
        n = len(self.futures)
        await asyncio.gather(*self.futures)
        self.futures = []
        return n


class _Batched:
    """The worker's own publisher, kafka/producer.BatchSender: one BatchBuilder per
    partition, closed and sent with one `send_batch()` each, partitions by the same cached
    murmur2. Both sides pay the same client cost per record, a `Send` included."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.sender = BatchSender(producer)
        self.sends: list[OutSend] = []

    async def add(self, topic: str, key: bytes | None, value: bytes, headers: Headers,
                  partition: int | None, timestamp_ms: int | None) -> None:
        self.sends.append(OutSend(topic, value, key, headers, partition, timestamp_ms))

    async def flush(self) -> int:
        n = len(self.sends)
        await self.sender.send_all(self.sends)
        self.sends = []
        return n


async def passthrough(
    settings: Settings, plan: Plan, events: int, produce: str
) -> dict[str, float]:
    blobs: dict[int, bytes] = {}
    producer = kafka.producer(settings)
    consumer = kafka.group_consumer(settings)
    await producer.start()
    await consumer.start()
    consumer.subscribe([settings.topic_raw])
    sink: _PerRecord | _Batched = _PerRecord(producer) if produce == "send" else _Batched(producer)
    if produce == "echo":
        # The latency run paces its load only once this process is in the group.
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)
        sys.stderr.write("floor: assigned\n")
        sys.stderr.flush()
    consumed = sent = 0
    first_fetch: float | None = None
    cpu0 = time.process_time()
    try:
        while consumed < events:
            batch = await consumer.getmany(timeout_ms=settings.fetch_timeout_ms,
                                           max_records=settings.batch_max_records)
            if not batch:
                continue
            if first_fetch is None:
                first_fetch, cpu0 = time.time(), time.process_time()
            for tp, recs in batch.items():
                if produce == "echo":
                    for rec in recs:
                        await sink.add(settings.topic_warehouse, rec.key, rec.value or b"", [],
                                       None, None)
                    consumed += len(recs)
                    continue
                for rec in recs:
                    for topic, key, size, headers, partition, keep_ts in plan[
                        (tp.partition, rec.offset)
                    ]:
                        blob = blobs.get(size)
                        if blob is None:
                            blob = blobs[size] = bytes(size)
                        await sink.add(topic, key, blob, headers, partition,
                                       rec.timestamp if keep_ts else None)
                consumed += len(recs)
            sent += await sink.flush()
            await consumer.commit(
                {tp: OffsetAndMetadata(recs[-1].offset + 1, "") for tp, recs in batch.items()}
            )
        last_commit = time.time()
        cpu = time.process_time() - cpu0
    finally:
        await consumer.stop()
        await producer.stop()
    assert first_fetch is not None
    return {
        "consumed": consumed, "sent": sent, "first_fetch": first_fetch,
        "last_commit": last_commit, "cpu_s": cpu,
        "maxrss_mib": peak_rss_mib(),
    }


def peak_rss_mib() -> float:
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over exec, so a child of
    # the (large) bench process would report the parent's peak.
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str]) -> int:
    plan_path, events, produce = argv[0], int(argv[1]), argv[2]
    if produce not in PRODUCE_MODES:
        raise SystemExit(f"produce mode must be one of {PRODUCE_MODES}")
    settings = Settings()  # EVENTYARD_* from the environment, as a worker reads them
    plan: Plan = {}
    if produce != "echo":
        with open(plan_path, "rb") as f:
            plan = pickle.load(f)
    if os.environ.get("BENCH_FLOOR_NOFREEZE") != "1":
        # The plan is bench scaffolding (~1M tracked tuples and lists): frozen, the cyclic
        # GC never walks it, so the floor pays for aiokafka only, not for its lookup table.
        gc.freeze()
    result = asyncio.run(passthrough(settings, plan, events, produce))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
