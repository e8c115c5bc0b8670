"""Everything the cluster knows about one eventId, from one bounded scan.

Read, within the time window: raw (every copy: when, which partition), the DLQ (reason and
detail), the three output topics (one record per destination, with its native name and
the policy version; the warehouse record's routedTo gives the skip reasons), and the dedup
partition of the eventId on `eventyard.duplicates` (copies dropped as duplicates). Values
are matched by a byte search for the JSON-encoded eventId before any record is parsed.
Nothing of the payload is kept but names, reasons and coordinates, so the trace holds no PII.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from eventyard.contract.headers import (
    H_DETAIL,
    H_REDRIVE_COUNT,
    H_SOURCE_OFFSET,
    H_SOURCE_PARTITION,
)
from eventyard.kafka import clients as kafka
from eventyard.kafka.partitioning import partition_for
from eventyard.ops.roles import OUTPUT_ROLES, topic_for
from eventyard.ops.scan import ScanReport, Start, position_at, read, start_client, topic_partitions
from eventyard.ops.views import View, view_of
from eventyard.ops.window import Window, iso_ms
from eventyard.settings import Settings
from eventyard.worker import duplicates


@dataclass(frozen=True, slots=True)
class Seen:
    """A record of the eventId: where and when."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    redrive: int = 0  # raw only: written by `dlq redrive` (its redrive count)

    def where(self) -> str:
        return f"{self.topic} partition {self.partition} offset {self.offset}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"topic": self.topic, "partition": self.partition,
                               "offset": self.offset, "timestamp": iso_ms(self.timestamp_ms)}
        if self.redrive:
            out["redrive"] = self.redrive
        return out


@dataclass(frozen=True, slots=True)
class DeadLettered:
    seen: Seen
    reason: str
    detail: str
    source: str  # raw coordinates of the failed copy
    redrives: int


@dataclass(frozen=True, slots=True)
class Delivered:
    seen: Seen
    destination: str
    klass: str
    name: str
    policy_version: str


@dataclass
class Trace:
    event_id: str
    report: ScanReport
    raw: list[Seen] = field(default_factory=list)
    dead_letters: list[DeadLettered] = field(default_factory=list)
    delivered: list[Delivered] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    dropped: list[duplicates.DuplicateRecord] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.raw or self.dead_letters or self.delivered or self.dropped)

    @property
    def policy_versions(self) -> list[str]:
        return sorted({d.policy_version for d in self.delivered})

    def to_json(self) -> dict[str, Any]:
        return {
            "eventId": self.event_id,
            "raw": [s.to_json() for s in self.raw],
            "deadLetters": [{**d.seen.to_json(), "reason": d.reason, "detail": d.detail,
                             "source": d.source, "redrives": d.redrives}
                            for d in self.dead_letters],
            "routed": [{**d.seen.to_json(), "destination": d.destination, "class": d.klass,
                        "name": d.name, "policyVersion": d.policy_version}
                       for d in self.delivered],
            "skipped": self.skipped,
            "duplicates": [{"droppedAt": iso_ms(d.dropped_ms), "topic": d.topic,
                            "partition": d.partition, "offset": d.offset}
                           for d in self.dropped],
            "policyVersions": self.policy_versions,
            "scanned": self.report.to_json(),
        }


def _seen(v: View) -> Seen:
    return Seen(v.rec.topic, v.rec.partition, v.rec.offset, v.rec.timestamp)


def _text(headers: dict[str, bytes], name: str) -> str:
    return headers.get(name, b"").decode(errors="replace")


def _add(trace: Trace, role: str, v: View) -> None:
    if v.event_id != trace.event_id:
        return
    if role == "raw":
        count = _text(v.headers, H_REDRIVE_COUNT)
        seen = _seen(v)
        trace.raw.append(Seen(seen.topic, seen.partition, seen.offset, seen.timestamp_ms,
                              int(count) if count.isdigit() else 0))
    elif role == "dlq":
        count = _text(v.headers, H_REDRIVE_COUNT)
        source = (f"partition {_text(v.headers, H_SOURCE_PARTITION)} offset "
                  f"{_text(v.headers, H_SOURCE_OFFSET)}")
        trace.dead_letters.append(DeadLettered(
            _seen(v), v.reason or "?", _text(v.headers, H_DETAIL), source,
            int(count) if count.isdigit() else 0))
    elif role in OUTPUT_ROLES:
        trace.delivered.append(Delivered(_seen(v), v.destination or "?", v.klass or role,
                                         v.text("name") or "?", v.text("policyVersion") or "?"))
        routed = v.doc.get("routedTo") if v.doc is not None else None
        if isinstance(routed, dict):
            for dest, outcome in routed.items():
                if isinstance(outcome, dict) and outcome.get("status") == "skipped":
                    trace.skipped[str(dest)] = str(outcome.get("reason"))


async def trace_event(settings: Settings, event_id: str, window: Window,
                      timeout_s: float = 120.0) -> Trace:
    needle = orjson.dumps(event_id)  # as it appears in a JSON value, quotes included
    roles = {topic_for(settings, r): r for r in ("raw", "dlq", *OUTPUT_ROLES)}
    dup_topic = settings.topic_duplicates
    consumer = kafka.plain_consumer(settings, "eventyard-trace")
    await start_client(consumer, settings)
    trace = Trace(event_id, ScanReport(window))
    try:
        tps = await topic_partitions(consumer, roles)
        dup_parts = await topic_partitions(consumer, [dup_topic])
        home = partition_for(event_id.encode(), len(dup_parts))
        tps += [tp for tp in dup_parts if tp.partition == home]
        start = Start("since") if window.since_ms is not None else Start("beginning")
        live, _ = await position_at(consumer, tps, start, window, trace.report)
        async for rec in read(consumer, live, trace.report, bounded=True, timeout_s=timeout_s):
            if rec.topic == dup_topic:
                if rec.key == event_id.encode() and (d := duplicates.decode(rec.value)):
                    trace.dropped.append(d)
            elif rec.value is not None and needle in rec.value:
                _add(trace, roles[rec.topic], view_of(roles[rec.topic], rec))
    finally:
        await consumer.stop()
    trace.raw.sort(key=lambda s: (s.timestamp_ms, s.partition, s.offset))
    return trace


def render(trace: Trace) -> list[str]:
    """The trace as text lines, in the order an event travels."""
    lines = [f"eventId {trace.event_id}"]
    if not trace.found:
        lines.append("  not found in the window scanned")
    for i, s in enumerate(trace.raw):
        label = "raw" if i == 0 else "raw copy"
        note = f"  (dlq redrive {s.redrive})" if s.redrive else ""
        lines.append(f"  {label:<12}{iso_ms(s.timestamp_ms)}  {s.where()}{note}")
    for d in trace.dead_letters:
        redrives = f" (redriven {d.redrives}×)" if d.redrives else ""
        lines.append(f"  {'dead letter':<12}{iso_ms(d.seen.timestamp_ms)}  {d.reason}: "
                     f"{d.detail}{redrives}  [raw {d.source}; {d.seen.where()}]")
    if trace.delivered:
        lines.append(f"  {'routed':<12}policy {', '.join(trace.policy_versions)}")
        for r in sorted(trace.delivered, key=lambda r: (r.klass, r.destination)):
            lines.append(f"    {r.destination:<12}{r.klass:<10}{r.name:<28}"
                         f"{iso_ms(r.seen.timestamp_ms)}  {r.seen.where()}")
    by_reason: dict[str, list[str]] = {}
    for dest, reason in sorted(trace.skipped.items()):
        by_reason.setdefault(reason, []).append(dest)
    for reason, dests in sorted(by_reason.items()):
        lines.append(f"  {'skipped':<12}{reason}: {', '.join(dests)}")
    for dup in trace.dropped:
        where = (f"{dup.topic} partition {dup.partition} offset {dup.offset}"
                 if dup.topic is not None else "?")
        lines.append(f"  {'duplicate':<12}{iso_ms(dup.dropped_ms)}  copy dropped: {where}")
    lines.append(trace.report.describe())
    return lines
