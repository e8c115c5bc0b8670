"""Dedup changelog I/O: entry encoding, and rebuilding a DedupStore for assigned partitions.

One entry per routed eventId: key = eventId, value = "FIRST_SEEN_MS:KEYED_OFFSET" (ASCII),
written to the changelog partition with the same number as the keyed record's partition,
so restoring keyed partition p reads changelog partition p only.

An entry counts only if the batch that wrote it was committed: on restore, entries whose
keyed offset is at or past the partition's committed offset are ignored, because that
batch will be replayed (its outputs may never have been acknowledged). That is what lets
the worker write entries in the same round as the outputs they guard instead of after
them, without a crash ever turning a replay into a loss.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition

from eventyard.runtime import kafka
from eventyard.runtime.dedup import DedupStore, fingerprint
from eventyard.runtime.settings import Settings

log = logging.getLogger(__name__)

FETCH_TIMEOUT_MS = 200
FETCH_MAX_RECORDS = 50_000


def encode_value(first_seen_ms: int, keyed_offset: int) -> bytes:
    return f"{first_seen_ms}:{keyed_offset}".encode()


def decode_value(value: bytes | None) -> tuple[int, int | None] | None:
    """(first-seen ms, keyed offset); offset None for entries written before offsets were
    recorded (those were only ever written after their outputs were acknowledged)."""
    if not value:
        return None  # tombstone or junk: nothing to hold
    ms, _, offset = value.partition(b":")
    try:
        return int(ms), int(offset) if offset else None
    except ValueError:
        return None


async def read_to_highwater(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], timeout_s: float
) -> list[tuple[int, bytes | None, bytes | None]]:
    """Return (partition, key, value) of every record up to the fetch high watermark.

    Tansu's end_offsets() is wrong by up to a batch (broker.md §3), so "caught up" means
    position >= highwater as reported by fetch responses, for every partition.
    """
    out: list[tuple[int, bytes | None, bytes | None]] = []
    pending = set(tps)
    deadline = time.monotonic() + timeout_s
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=FETCH_TIMEOUT_MS,
                                       max_records=FETCH_MAX_RECORDS)
        for tp, records in batch.items():
            out.extend((tp.partition, r.key, r.value) for r in records)
        for tp in list(pending):
            high = consumer.highwater(tp)
            if high is not None and await consumer.position(tp) >= high:
                pending.discard(tp)
        if pending and time.monotonic() > deadline:
            raise TimeoutError(f"changelog restore did not reach the high watermark of {pending}")
    return out


def held_entries(
    records: Iterable[tuple[int, bytes | None, bytes | None]],
    committed: Mapping[int, int],
    horizon_ms: int,
) -> Iterator[tuple[int, bytes, int]]:
    """(partition, eventId, first seen) of the entries a restored store must hold: inside
    the window, and written by a batch that was committed."""
    for partition, key, value in records:
        decoded = decode_value(value)
        if key is None or decoded is None:
            continue
        first_seen, offset = decoded
        if first_seen <= horizon_ms:
            continue
        if offset is not None and offset >= committed.get(partition, 0):
            continue  # its batch was not committed: it replays, and must route again
        yield partition, key, first_seen


async def restore(
    settings: Settings, store: DedupStore, partitions: Iterable[int], now_ms: int,
    committed: Mapping[int, int], timeout_s: float = 120.0,
) -> int:
    """Load changelog entries of `partitions` still inside the window whose batch was
    committed (`committed`: keyed partition -> committed offset; absent means none)."""
    tps = [TopicPartition(settings.topic_dedup, p) for p in sorted(set(partitions))]
    if not tps:
        return 0
    started = time.monotonic()
    # Under exactly_once only committed entries count: an aborted batch was not published.
    consumer = kafka.plain_consumer(
        settings, f"{settings.group_id}-dedup-restore",
        read_committed=settings.processing_guarantee == "exactly_once",
    )
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
