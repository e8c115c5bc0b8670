"""Read eventyard topics for the ops tools: bounded scans and live follows.

Where reading starts:
- `since` (a time): `offsets_for_times`, then records before the time are skipped. On
  Tansu that lookup goes by batch write time and answers "offset 0, timestamp -1" for a
  time after the last batch (docs/broker.md): both err towards reading more, never
  less, and -1 is taken as "nothing since".
- `beginning`, an explicit offset, or `end`. The end is never taken from `end_offsets()`
  (wrong on Tansu by up to a batch): a follow from the end drops every record below the
  first high watermark a fetch reports, so it shows exactly what arrived after it started.

Where a bounded scan ends: at the high watermark of each partition's first fetch response
(kafka/highwater.py's rule), so a scan never chases records written while it runs, and a
dlq redrive never reads the dead letters it causes. The ScanReport says what was read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaConnectionError
from aiokafka.structs import ConsumerRecord

from eventyard.errors import ConfigError, WaitTimeout
from eventyard.kafka.highwater import FETCH_TIMEOUT_MS
from eventyard.kafka.reach import unreachable
from eventyard.ops.window import Window
from eventyard.settings import Settings

Record: TypeAlias = ConsumerRecord[bytes, bytes]

StartKind = Literal["beginning", "end", "offset", "since"]
MAX_RECORDS = 5000


@dataclass(frozen=True, slots=True)
class Start:
    kind: StartKind
    offset: int = 0  # kind "offset"


def parse_start(text: str) -> Start | None:
    """`beginning`, `end` or a non-negative offset; None for anything else (a time)."""
    if text in ("beginning", "end"):
        return Start(text)  # type: ignore[arg-type]
    if text.isdigit():
        return Start("offset", int(text))
    return None


@dataclass(slots=True)
class PartitionRange:
    topic: str
    partition: int
    start: int | None = None  # first offset read; None: nothing in the window
    end: int | None = None  # high watermark at the first fetch (bounded scans)
    read: int = 0
    matched: int = 0


@dataclass
class ScanReport:
    window: Window
    ranges: dict[TopicPartition, PartitionRange] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def read(self) -> int:
        return sum(r.read for r in self.ranges.values())

    def per_topic(self) -> dict[str, tuple[int, int, int]]:
        """topic -> (partitions, records read, records in the window)."""
        out: dict[str, tuple[int, int, int]] = {}
        for r in self.ranges.values():
            p, n, m = out.get(r.topic, (0, 0, 0))
            out[r.topic] = (p + 1, n + r.read, m + r.matched)
        return out

    def describe(self) -> str:
        topics = "".join(
            f"\n  {t}: {p} partition{'s' if p != 1 else ''}, {n:,} records read, "
            f"{m:,} in the window" for t, (p, n, m) in self.per_topic().items())
        return f"scanned {self.window.describe()} in {self.seconds:.1f} s:{topics}"

    def to_json(self) -> dict[str, object]:
        return {
            "since": self.window.since_ms, "until": self.window.until_ms,
            "seconds": round(self.seconds, 3),
            "partitions": [
                {"topic": r.topic, "partition": r.partition, "start": r.start, "end": r.end,
                 "read": r.read, "inWindow": r.matched}
                for r in self.ranges.values()
            ],
        }


async def start_client(client: Any, settings: Settings) -> None:
    """Start a consumer or producer; BrokerUnreachable (one sentence) when no broker answers."""
    # aiokafka logs its own connection errors; the one sentence below says it for a person.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        await client.start()
    except KafkaConnectionError:
        await client.stop()
        raise unreachable(settings) from None


async def topic_partitions(consumer: AIOKafkaConsumer, topics: Iterable[str],
                           only: Iterable[int] | None = None) -> list[TopicPartition]:
    await consumer.topics()  # a full metadata fetch, so partitions_for_topic knows them
    wanted = set(only) if only is not None else None
    tps: list[TopicPartition] = []
    for topic in topics:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            raise ConfigError(f"topic {topic} does not exist (eventyard topics create "
                              "creates them; topic names come from EVENTYARD_TOPIC_*)")
        tps += [TopicPartition(topic, p) for p in sorted(parts)
                if wanted is None or p in wanted]
    return tps


async def position_at(consumer: AIOKafkaConsumer, tps: list[TopicPartition], start: Start,
                      window: Window, report: ScanReport, *, follow: bool = False,
                      ) -> tuple[list[TopicPartition], set[TopicPartition]]:
    """Assign `tps` and seek. Returns those to read, and those of them positioned at the
    end (for `read`'s `tail`): a follow from the end, or from a time after a partition's
    last record (it is followed from its end)."""
    consumer.assign(tps)
    for tp in tps:
        report.ranges[tp] = PartitionRange(tp.topic, tp.partition)
    live = list(tps)
    tail: set[TopicPartition] = set()
    if start.kind == "since" and window.since_ms is not None:
        found = await consumer.offsets_for_times({tp: window.since_ms for tp in tps})
        live = []
        for tp in tps:
            hit = found.get(tp)
            if hit is None or hit.timestamp < 0:  # nothing written at or after `since`
                if follow:
                    await consumer.seek_to_end(tp)
                    tail.add(tp)
                    live.append(tp)
                continue
            consumer.seek(tp, hit.offset)
            live.append(tp)
    elif start.kind == "offset":
        for tp in tps:
            consumer.seek(tp, start.offset)
    elif start.kind == "end":
        await consumer.seek_to_end(*tps)  # approximate; made exact by `read`'s tail rule
        tail = set(tps)
    else:
        await consumer.seek_to_beginning(*tps)
    for tp in live:
        report.ranges[tp].start = await consumer.position(tp)
    if live != tps:
        consumer.assign(live)
    return live, tail


async def read(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], report: ScanReport, *,
    bounded: bool, tail: Collection[TopicPartition] = (), timeout_s: float = 120.0,
) -> AsyncGenerator[Record, None]:
    """Records of `tps` (positioned by `position_at`) inside report.window. `bounded`: stop
    at each partition's first-seen high watermark; otherwise follow until the caller
    stops. `tail`: partitions followed from their end, where records below the first high
    watermark are dropped."""
    started = time.monotonic()
    window = report.window
    pending = set(tps)
    first_hw: dict[TopicPartition, int] = {}
    try:
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=FETCH_TIMEOUT_MS,
                                           max_records=MAX_RECORDS)
            for tp in pending:
                if tp not in first_hw and (hw := consumer.highwater(tp)) is not None:
                    first_hw[tp] = hw
                    if bounded:
                        report.ranges[tp].end = hw
            for tp, records in batch.items():
                rng = report.ranges[tp]
                limit = first_hw.get(tp)
                for rec in records:
                    if limit is not None and bounded and rec.offset >= limit:
                        break
                    if limit is not None and rec.offset < limit and tp in tail:
                        continue
                    rng.read += 1
                    if window.contains(rec.timestamp):
                        rng.matched += 1
                        yield rec
            if bounded:
                for tp in list(pending):
                    if tp in first_hw and await consumer.position(tp) >= first_hw[tp]:
                        pending.discard(tp)
                if pending and time.monotonic() - started > timeout_s:
                    raise WaitTimeout(
                        f"scan did not reach the high watermark of {len(pending)} partition(s) "
                        f"in {timeout_s:.0f} s")
    finally:
        report.seconds = time.monotonic() - started
