"""Restore signal state from its changelog (topic_signals_state).

Changelog partition p holds the state of warehouse partition p: one entry per (signal,
identity) window (a tombstone once forgotten) and a position entry (next warehouse offset
and the partition's watermark), always written after the entries of its batch. Restore
reads the partition to the high watermark (the dedup changelog's reader) and applies it in
order: the latest entry per window, and the latest position.

A crash can leave entries of a batch without its position entry. Those windows are then
ahead of the position, and the batch is replayed into them: every transition ignores an
event it has already applied (a counted eventId's fingerprint is held; anchors and
watermarks only move forward), so a replay changes nothing and fires nothing new, and
any signal it fires again carries the same eventId for the router's dedup.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence

from aiokafka import TopicPartition

from eventyard.kafka import clients as kafka
from eventyard.settings import Settings
from eventyard.signals.engine import PartitionEngine
from eventyard.signals.rules import SignalRule
from eventyard.worker.changelog import read_to_highwater

log = logging.getLogger(__name__)


async def restore(
    settings: Settings, rules: Sequence[SignalRule], names: Iterable[str],
    partitions: Iterable[int], timeout_s: float = 120.0,
) -> dict[int, PartitionEngine]:
    wanted = sorted(set(partitions))
    engines = {p: PartitionEngine(rules, names, settings.topic_warehouse) for p in wanted}
    if not wanted:
        return engines
    started = time.monotonic()
    tps = [TopicPartition(settings.topic_signals_state, p) for p in wanted]
    consumer = kafka.plain_consumer(settings, f"{settings.signals_group_id}-restore")
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records = await read_to_highwater(consumer, tps, timeout_s)
    finally:
        await consumer.stop()
    for partition, key, value in records:
        engines[partition].load(key, value)
    for engine in engines.values():
        engine.restored()
    log.info(
        "signals restore: %d entries read, %d windows, partitions %s, %.2fs",
        len(records), sum(len(e) for e in engines.values()), wanted,
        time.monotonic() - started,
    )
    return engines
