"""Dedup changelog I/O: entry encoding, and rebuilding a DedupStore for assigned partitions.

One entry per routed eventId: key = eventId, value = first-seen epoch ms (ASCII decimal),
written to the changelog partition with the same number as the keyed record's partition,
so restoring keyed partition p reads changelog partition p only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition

from eventyard.runtime import kafka
from eventyard.runtime.dedup import DedupStore, fingerprint
from eventyard.runtime.settings import Settings

log = logging.getLogger(__name__)

FETCH_TIMEOUT_MS = 200
FETCH_MAX_RECORDS = 50_000


def encode_value(first_seen_ms: int) -> bytes:
    return str(first_seen_ms).encode()


def decode_value(value: bytes | None) -> int | None:
    if not value:
        return None  # tombstone or junk: nothing to hold
    try:
        return int(value)
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


async def restore(
    settings: Settings, store: DedupStore, partitions: Iterable[int], now_ms: int,
    timeout_s: float = 120.0,
) -> int:
    """Load changelog entries of `partitions` that are still inside the window."""
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
    horizon = now_ms - store.window_ms
    loaded = 0
    for partition, key, value in records:
        first_seen = decode_value(value)
        if key is None or first_seen is None or first_seen <= horizon:
            continue
        store.add(partition, fingerprint(key), first_seen)
        loaded += 1
    log.info(
        "dedup restore: %d entries read, %d inside the window, partitions %s, %.2fs",
        len(records), loaded, [tp.partition for tp in tps], time.monotonic() - started,
    )
    return loaded
