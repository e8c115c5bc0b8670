"""The bench's input and what the router must make of it, computed once from the pure core.

Every phase reads the same records (traffic.generate, one seed). `expect()` runs the core
over them the way the worker does (admit on hop A, dedup by eventId in arrival order,
process on hop B), so the floor can write exactly the records the router writes (same
count, keys, value sizes, header bytes) and the harness knows when a run is complete.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from aiokafka.structs import RecordMetadata

from eventyard import core
from eventyard.contract.deadletter import DeadLetter
from eventyard.kafka import clients as kafka
from eventyard.local.traffic import RawRecord, generate
from eventyard.policy import load_policy
from eventyard.settings import Settings
from eventyard.worker.dedup import fingerprint

# Chunk of in-flight produce futures: keeps memory flat while produce stays batched.
PRODUCE_CHUNK = 20_000


@dataclass(frozen=True, slots=True)
class Out:
    """One routed output record: destination class (= topic), key, value size, header."""

    klass: str
    key: bytes
    size: int
    destination: bytes


@dataclass(frozen=True, slots=True)
class Fate:
    """What the worker does with one raw record."""

    valid: bool  # admitted by hop A (→ one keyed record)
    event_id: bytes | None
    duplicate: bool  # valid, but an earlier record had its eventId
    outputs: tuple[Out, ...] = ()
    reason: bytes = b""  # dead letters: reason and detail headers
    detail: bytes = b""


@dataclass
class Workload:
    records: list[RawRecord]
    fates: list[Fate]
    now_ms: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.records)


def expect(n: int, policy_path: str, seed: int = 7) -> Workload:
    now_ms = int(time.time() * 1000)
    policy = load_policy(policy_path)
    records = list(generate(n, seed=seed, now_ms=now_ms))
    fates: list[Fate] = []
    seen: set[int] = set()
    counts = {"invalid": 0, "valid": 0, "duplicates": 0, "unique": 0,
              "ads": 0, "crm": 0, "warehouse": 0}
    for rec in records:
        # Record timestamp ~ now: the broker stamps the raw record at produce time.
        admitted = core.admit(rec.value, now_ms, now_ms)
        if isinstance(admitted, DeadLetter):
            counts["invalid"] += 1
            fates.append(Fate(False, None, False, reason=admitted.reason.encode(),
                              detail=admitted.detail.encode()))
            continue
        counts["valid"] += 1
        event_id = admitted.event_id.encode()
        fp = fingerprint(event_id)
        if fp in seen:
            counts["duplicates"] += 1
            fates.append(Fate(True, event_id, True))
            continue
        seen.add(fp)
        counts["unique"] += 1
        routed = core.process(rec.value, now_ms, policy, now_ms)
        if isinstance(routed, DeadLetter):  # cannot happen after admit; keep totals honest
            fates.append(Fate(True, event_id, False, reason=routed.reason.encode(),
                              detail=routed.detail.encode()))
            continue
        outs = tuple(Out(o.klass, o.key, len(o.value), o.destination.encode())
                     for o in routed.records)
        for o in outs:
            counts[o.klass] += 1
        fates.append(Fate(True, event_id, False, outs))
    return Workload(records, fates, now_ms, counts)


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
