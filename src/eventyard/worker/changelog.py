"""Dedup changelog I/O: entry encoding, and rebuilding a DedupStore for assigned partitions.

One entry per routed eventId of dedup partition p: key = eventId, value =
"FIRST_SEEN_MS:OFFSET" for an event routed from keyed partition p,
"FIRST_SEEN_MS:OFFSET:raw" for one routed straight from raw partition p, and
"FIRST_SEEN_MS:OFFSET:raw:Q" for one routed straight from another raw partition Q (the
direct path, worker/dispatch.py). Either way it is written to changelog partition p, so
restoring dedup partition p reads changelog partition p only.

An entry counts only if the batch that wrote it was committed: on restore, entries whose
offset is at or past the committed offset of their source partition (keyed p, raw p or
raw Q) are ignored, because that batch will be replayed (its outputs may never have been
acknowledged). That is what lets the worker write entries in the same round as the
outputs they guard instead of after them, without a crash ever turning a replay into a
loss.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from aiokafka import TopicPartition

from eventyard.kafka.highwater import drain_to_highwater
from eventyard.kafka.interfaces import PlainConsumer, Reader
from eventyard.kafka.producer import Send
from eventyard.worker.dedup import DedupStore, fingerprint

log = logging.getLogger(__name__)

RAW_SUFFIX = b":raw"


def encode_value(
    first_seen_ms: int, offset: int, *, raw: bool = False, raw_partition: int | None = None
) -> bytes:
    """`offset` is the routed record's: in keyed partition p, or, if `raw`, in raw partition
    p, or in raw partition `raw_partition` when that is another one."""
    value = f"{first_seen_ms}:{offset}".encode()
    if not raw:
        return value
    if raw_partition is None:
        return value + RAW_SUFFIX
    return value + RAW_SUFFIX + b":%d" % raw_partition


def entries(
    topic: str, now_ms: int, first_seen: Iterable[tuple[int, bytes, int, int | None]]
) -> list[Send]:
    """The changelog records of a batch: one per (dedup partition p, eventId, offset, raw
    partition or None for keyed p) first seen in it (`Batch.first_seen`), to changelog
    partition p."""
    return [
        Send(topic, encode_value(now_ms, offset, raw=raw is not None,
                                 raw_partition=None if raw == p else raw), key, [], partition=p)
        for p, key, offset, raw in first_seen
    ]


@dataclass(frozen=True, slots=True)
class Entry:
    first_seen_ms: int
    # None for entries written before offsets were recorded (those were only ever written
    # after their outputs were acknowledged).
    offset: int | None
    raw: bool  # the offset is in a raw partition (direct path), not in keyed partition p
    raw_partition: int | None = None  # that raw partition, when it is not p


def decode_value(value: bytes | None) -> Entry | None:
    if not value:
        return None  # tombstone or junk: nothing to hold
    ms, _, rest = value.partition(b":")
    offset, _, where = rest.partition(b":")
    try:
        if not where:
            return Entry(int(ms), int(offset) if offset else None, False)
        tag, _, raw_partition = where.partition(b":")
        if tag != RAW_SUFFIX[1:]:
            return None
        return Entry(int(ms), int(offset), True, int(raw_partition) if raw_partition else None)
    except ValueError:
        return None


async def read_to_highwater(
    consumer: Reader, tps: list[TopicPartition], timeout_s: float
) -> list[tuple[int, bytes | None, bytes | None]]:
    """Return (partition, key, value) of every record up to the fetch high watermark."""
    return [(tp.partition, r.key, r.value)
            async for tp, records in drain_to_highwater(
                consumer, tps, timeout_s, what="changelog restore")
            for r in records]


@dataclass(frozen=True, slots=True)
class Committed:
    """Committed offsets of the group, by partition number (absent: nothing committed):
    keyed partitions being restored, and every raw partition (direct-path entries of
    dedup partition p may name any of them)."""

    keyed: Mapping[int, int]
    raw: Mapping[int, int]


def held_entries(
    records: Iterable[tuple[int, bytes | None, bytes | None]],
    committed: Committed,
    horizon_ms: int,
) -> Iterator[tuple[int, bytes, int]]:
    """(partition, eventId, first seen) of the entries a restored store must hold: inside
    the window, and written by a batch that was committed."""
    for partition, key, value in records:
        entry = decode_value(value)
        if key is None or entry is None or entry.first_seen_ms <= horizon_ms:
            continue
        if entry.raw:
            source, at = committed.raw, (
                partition if entry.raw_partition is None else entry.raw_partition)
        else:
            source, at = committed.keyed, partition
        if entry.offset is not None and entry.offset >= source.get(at, 0):
            continue  # its batch was not committed: it replays, and must route again
        yield partition, key, entry.first_seen_ms


async def restore(
    consumer: PlainConsumer, topic: str, store: DedupStore, partitions: Iterable[int],
    now_ms: int, committed: Committed, timeout_s: float = 120.0,
) -> int:
    """Load changelog entries of `partitions` of `topic` still inside the window whose
    batch was committed, reading with `consumer` (a group-less consumer, not started;
    under exactly_once a read_committed one, so an aborted batch's entries never count)."""
    tps = [TopicPartition(topic, p) for p in sorted(set(partitions))]
    if not tps:
        return 0
    started = time.monotonic()
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records = await read_to_highwater(consumer, tps, timeout_s)
    finally:
        await consumer.stop()
    loaded = 0
    for partition, key, first_seen in held_entries(records, committed, now_ms - store.window_ms):
        store.add(partition, fingerprint(key), first_seen)
        loaded += 1
    log.info(
        "dedup restore: %d entries read, %d inside the window, partitions %s, %.2fs",
        len(records), loaded, [tp.partition for tp in tps], time.monotonic() - started,
    )
    return loaded
