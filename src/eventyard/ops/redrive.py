"""`eventyard dlq redrive`: put dead letters back on raw after their cause is fixed.

- Bounded: reads the DLQ up to the high watermarks of the first fetch (ops/scan.py), so a
  run never reads the dead letters it causes itself.
- Its own consumer group (default GROUP_ID-redrive): progress is committed there after
  every acknowledged chunk, apart from the workers' group; `--resume` continues from it.
- Rate-limited (records per second).
- Each record goes back to raw with its original key and bytes and a header
  `eventyard-redrive-count` one above the count it carried; the worker copies that header
  onto a dead letter, so a record that keeps failing is refused once it reaches the maximum.
- Nothing double-delivers: a redriven record is an ordinary raw record with its eventId,
  and the worker's dedup drops a copy of an eventId routed within the dedup window, so a
  second redrive of the same records routes nothing new.
- `dry_run`: runs the pure core (eventyard.core) with the current contract and policy on
  each selected record, as the worker would now, and writes and commits nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import TopicPartition
from aiokafka.structs import OffsetAndMetadata

from eventyard import core
from eventyard.contract.deadletter import DeadLetter
from eventyard.contract.headers import H_REDRIVE_COUNT
from eventyard.errors import UsageError
from eventyard.kafka import clients as kafka
from eventyard.kafka.producer import BatchSender, Send
from eventyard.ops.scan import (
    Record,
    ScanReport,
    Start,
    position_at,
    read,
    start_client,
    topic_partitions,
)
from eventyard.ops.views import Filter, view_of
from eventyard.ops.window import Window
from eventyard.policy.compiled import CompiledPolicy
from eventyard.settings import Settings

H_REDRIVEN_FROM = "eventyard-redriven-from"
MAX_CHUNK = 500


@dataclass(frozen=True, slots=True)
class RedriveOptions:
    filter: Filter
    window: Window
    group: str
    max_redrives: int = 3
    rate: float = 200.0  # records per second
    dry_run: bool = False
    resume: bool = False
    timeout_s: float = 300.0


@dataclass(frozen=True, slots=True)
class Planned:
    """One selected dead letter and what happens to it."""

    partition: int
    offset: int
    event_id: str | None
    reason: str
    redrives: int
    outcome: str  # "sent" | "refused: …" | dry run: "would route: …" / "would dead-letter: …"


@dataclass
class RedriveResult:
    report: ScanReport
    dry_run: bool
    planned: list[Planned] = field(default_factory=list)
    sent: int = 0
    refused: int = 0

    def outcomes(self) -> Counter[str]:
        return Counter(p.outcome for p in self.planned)

    def to_json(self) -> dict[str, Any]:
        return {
            "dryRun": self.dry_run, "selected": len(self.planned), "sent": self.sent,
            "refused": self.refused, "outcomes": dict(self.outcomes()),
            "records": [{"partition": p.partition, "offset": p.offset, "eventId": p.event_id,
                         "reason": p.reason, "redrives": p.redrives, "outcome": p.outcome}
                        for p in self.planned],
            "scanned": self.report.to_json(),
        }


def redrive_count(headers: dict[str, bytes]) -> int:
    raw = headers.get(H_REDRIVE_COUNT, b"0")
    return int(raw) if raw.isdigit() else 0


def predict(value: bytes | None, policy: CompiledPolicy, settings: Settings, now_ms: int) -> str:
    """What the worker would do with these bytes now (dedup aside)."""
    result = core.process(value, now_ms, policy, now_ms, settings.max_event_bytes)
    if isinstance(result, DeadLetter):
        return f"would dead-letter: {result.reason}"
    names = []
    for out in result.records:
        name = orjson.loads(out.value).get("name")
        names.append(f"{out.destination}:{name}")
    return "would route: " + ", ".join(sorted(names))


async def redrive(settings: Settings, opts: RedriveOptions,
                  policy: CompiledPolicy | None = None) -> RedriveResult:
    """Run (or, with opts.dry_run, predict) one bounded redrive. `policy` is required for a
    dry run."""
    if opts.dry_run and policy is None:
        raise UsageError("a dry run needs the policy to predict with")
    consumer = kafka.plain_consumer(settings, "eventyard-redrive",
                                    offsets_group=None if opts.dry_run else opts.group)
    await start_client(consumer, settings)
    result = RedriveResult(ScanReport(opts.window), opts.dry_run)
    producer = None
    try:
        tps = await topic_partitions(consumer, [settings.topic_dlq])
        start = Start("since") if opts.window.since_ms is not None else Start("beginning")
        live, _ = await position_at(consumer, tps, start, opts.window, result.report)
        if opts.resume and not opts.dry_run:
            for tp in live:
                committed = await consumer.committed(tp)
                if committed is not None and committed > await consumer.position(tp):
                    consumer.seek(tp, committed)
                    result.report.ranges[tp].start = committed
        if not opts.dry_run:
            producer = kafka.producer(settings)
            await start_client(producer, settings)
        sender = BatchSender(producer) if producer is not None else None
        chunk: list[Send] = []
        done: dict[TopicPartition, int] = {}
        started = time.monotonic()
        now_ms = int(time.time() * 1000)
        size = max(1, min(MAX_CHUNK, int(opts.rate)))

        async def flush() -> None:
            if sender is not None and chunk:
                await sender.send_all(chunk)
                result.sent += len(chunk)
                chunk.clear()
                # Pace: never ahead of `rate` records per second since the start.
                ahead = result.sent / opts.rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
            if not opts.dry_run and done:
                await consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in done.items()})

        async for rec in read(consumer, live, result.report, bounded=True,
                              timeout_s=opts.timeout_s):
            done[TopicPartition(rec.topic, rec.partition)] = rec.offset + 1
            planned = _plan(settings, rec, opts, policy, now_ms)
            if planned is None:
                continue
            result.planned.append(planned)
            if planned.outcome.startswith("refused"):
                result.refused += 1
            elif not opts.dry_run:
                chunk.append(_send(settings, rec, planned.redrives + 1))
                if len(chunk) >= size:
                    await flush()
        await flush()
    finally:
        if producer is not None:
            await producer.stop()
        await consumer.stop()
    return result


def _plan(settings: Settings, rec: Record, opts: RedriveOptions,
          policy: CompiledPolicy | None, now_ms: int) -> Planned | None:
    v = view_of("dlq", rec)
    if not opts.filter.matches(v):
        return None
    count = redrive_count(v.headers)
    if count >= opts.max_redrives:
        outcome = f"refused: redriven {count}× already (max {opts.max_redrives})"
    elif policy is not None and opts.dry_run:
        outcome = predict(rec.value, policy, settings, now_ms)
    else:
        outcome = "sent"
    return Planned(rec.partition, rec.offset, v.event_id, v.reason or "?", count, outcome)


def _send(settings: Settings, rec: Record, count: int) -> Send:
    headers = [(H_REDRIVE_COUNT, str(count).encode()),
               (H_REDRIVEN_FROM, f"{rec.topic}/{rec.partition}/{rec.offset}".encode())]
    # Partition None: the default partitioner's choice for the original key, as when it
    # was first produced (a record keyed by its eventId lands on its direct-path partition).
    return Send(settings.topic_raw, rec.value, rec.key, headers)
