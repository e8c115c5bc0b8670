"""The loop's metrics: one update per label set per batch, and consumer lag every second.

A batch's tallies (worker/dispatch.py `Batch`) become counter increments once its records
are acknowledged; histograms take one `observe_many` call per distinct value instead of
one `observe()` per record, or one increment per bucket for values that differ per record
(telemetry.py).
"""

from __future__ import annotations

import contextlib
import time

from aiokafka.errors import IllegalStateError
from aiokafka.structs import TopicPartition

from eventyard.kafka.interfaces import GroupConsumer, Record
from eventyard.telemetry import Telemetry, observe_each, observe_many
from eventyard.worker.dispatch import Batch

LAG_INTERVAL_S = 1.0


def record_batch(t: Telemetry, batch: Batch, seconds: float, dedup_ids: int) -> None:
    """Count a settled batch; `seconds` from its fetch to its last acknowledgement."""
    t.events_consumed.inc(batch.consumed)
    t.events_rekeyed.inc(batch.rekeyed)
    t.duplicates.inc(batch.duplicates)
    t.events_unique.inc(batch.unique)
    for reason, n in batch.dead_letters.items():
        t.dead_letters.labels(reason=reason).inc(n)
    for (destination, klass), n in batch.routed.items():
        t.events_routed.labels(destination=destination, **{"class": klass}).inc(n)
    for (destination, reason), n in batch.skipped.items():
        t.events_skipped.labels(destination=destination, reason=reason).inc(n)
    for code, n in batch.warnings.items():
        t.warnings.labels(code=code).inc(n)
    observe_many(t.processing_seconds, seconds, batch.records_in)
    now_ms = time.time() * 1000
    # Records of one event share its event time: one observation per event and class.
    for klass, times in batch.event_times.items():
        if times:
            observe_each(t.event_lag_seconds.labels(**{"class": klass}),
                         [max(0.0, (now_ms - event_ms) / 1000) for event_ms in times])
    t.dedup_ids.set(dedup_ids)
    t.batches.inc()


def observe_fetch_wait(t: Telemetry, now_ms: int, records: list[Record]) -> None:
    """Record timestamp → fetched, for one partition's records: the middle record's wait
    stands for the rest (one observation call per partition and batch)."""
    waited_ms = now_ms - records[len(records) // 2].timestamp
    observe_many(t.fetch_wait_seconds, max(0.0, waited_ms / 1000), len(records))


class ConsumerLag:
    """`eventyard_consumer_lag{topic,partition}`: fetch high watermark − position."""

    def __init__(self, telemetry: Telemetry) -> None:
        self._telemetry = telemetry
        self._next = 0.0
        # Set while the broker is unreachable (worker/topic_guard.py): the last high
        # watermark is stale then, so no lag is reported rather than a frozen number.
        self.paused = False

    async def update(self, consumer: GroupConsumer) -> None:
        """At most once per LAG_INTERVAL_S, for every assigned partition."""
        now = time.monotonic()
        if now < self._next or self.paused:
            return
        self._next = now + LAG_INTERVAL_S
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            try:
                position = await consumer.position(tp)
            except IllegalStateError:
                continue  # revoked meanwhile
            self._telemetry.consumer_lag.labels(
                topic=tp.topic, partition=str(tp.partition)
            ).set(max(0, high - position))

    def forget(self, tp: TopicPartition) -> None:
        with contextlib.suppress(KeyError):  # no lag reported for it yet
            self._telemetry.consumer_lag.remove(tp.topic, str(tp.partition))
