"""The bench's input and what the router must make of it, computed once with the worker's
own per-record steps (worker/dispatch.py).

Every phase reads the same records (traffic.generate, one seed). `expect()` runs them
through `admit_raw` and, for each keyed copy, `route_keyed`, in arrival order, so the
harness knows how many records each output topic must receive and when a run is complete.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka.structs import ConsumerRecord, RecordMetadata

from eventyard.kafka import clients as kafka
from eventyard.local.traffic import RawRecord, generate
from eventyard.policy import load_policy
from eventyard.settings import Settings
from eventyard.worker.dedup import DedupStore
from eventyard.worker.dispatch import Batch, Direct, Record, admit_raw, consumed, route_keyed

# Chunk of in-flight produce futures: keeps memory flat while produce stays batched.
PRODUCE_CHUNK = 20_000


@dataclass
class Workload:
    records: list[RawRecord]
    now_ms: int
    policy_path: Path
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.records)


def raw_record(
    settings: Settings, rec: RawRecord, partition: int, offset: int, timestamp_ms: int
) -> Record:
    """`rec` as the worker consumes it from the raw topic."""
    return ConsumerRecord(settings.topic_raw, partition, offset, timestamp_ms, 0, rec.key,
                          rec.value, None, len(rec.key or b""), len(rec.value), [])


def expect(n: int, policy_path: str | Path, seed: int = 7) -> Workload:
    """Counts of what the worker makes of the traffic: "invalid" (dead-lettered from the
    raw topic), "valid", "duplicates", "unique", "dead" (every dead letter) and one per
    output class. They do not depend on the path a record takes."""
    now_ms = int(time.time() * 1000)
    policy = load_policy(policy_path)
    settings = Settings(bootstrap_servers="unused:9092")  # topic names only
    records = list(generate(n, seed=seed, now_ms=now_ms))
    store = DedupStore(policy.dedup_window_ms)
    nothing_held = Direct(frozenset(), settings.partitions)  # every valid record re-keyed
    raw, keyed = Batch(now_ms=now_ms), Batch(now_ms=now_ms)
    for offset, rec in enumerate(records):
        # Record timestamp ~ now: the broker stamps the raw record at produce time.
        admit_raw(settings, raw_record(settings, rec, 0, offset, now_ms), policy, store,
                  nothing_held, raw)
        for send in raw.sends:
            if send.topic == settings.topic_keyed:
                route_keyed(settings, consumed(send, 0, offset), policy, store, keyed)
        raw.sends.clear()
        keyed.sends.clear()
    invalid = sum(raw.dead_letters.values())
    by_class = Counter[str]()
    for (_destination, klass), count in keyed.routed.items():
        by_class[klass] += count
    counts = {"invalid": invalid, "valid": raw.rekeyed, "duplicates": keyed.duplicates,
              "unique": keyed.unique, "dead": invalid + sum(keyed.dead_letters.values()),
              "ads": by_class["ads"], "crm": by_class["crm"],
              "warehouse": by_class["warehouse"]}
    return Workload(records, now_ms, Path(policy_path), counts)


async def preload(settings: Settings, records: list[RawRecord]) -> list[RecordMetadata]:
    """Produce every raw record (batched, acks=all, the worker's producer settings) and
    return their metadata in input order: partition, offset and CreateTime of each."""
    producer = kafka.producer(settings)
    await producer.start()
    out: list[RecordMetadata] = []
    try:
        pending: list[asyncio.Future[RecordMetadata]] = []
        for rec in records:
            pending.append(await producer.send(settings.topic_raw, rec.value, key=rec.key))
            if len(pending) >= PRODUCE_CHUNK:
                out.extend(await asyncio.gather(*pending))
                pending.clear()
        out.extend(await asyncio.gather(*pending))
    finally:
        await producer.stop()
    return out
