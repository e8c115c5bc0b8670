"""The load loop: consume routed records, write them in batches of N records or T ms, each
batch and its offsets in one fenced transaction (load/sinks.py). One batch is written
while the next is fetched and mapped.

Offsets live in the target database, not in Kafka: on every assignment the loader seeks
each partition to the offset stored with the rows. A crash anywhere loses only the batch
that was never committed, and it is read again; a batch that was committed is never read
again. On a revoke the buffered batch is written first, so a rebalance costs no rereads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from eventyard.errors import Fenced
from eventyard.kafka import clients as kafka
from eventyard.load import layout
from eventyard.load.sinks import Advance, Row, Sink
from eventyard.settings import Settings
from eventyard.telemetry import LoadTelemetry

log = logging.getLogger(__name__)

RETRY_AFTER_ERROR_S = 1.0


class Loader:
    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        sink: Sink,
        topics: list[str],
        telemetry: LoadTelemetry,
        *,
        batch_records: int,
        batch_ms: int,
    ) -> None:
        self.consumer = consumer
        self.sink = sink
        self.topics = topics
        self.telemetry = telemetry
        self.batch_records = batch_records
        self.batch_s = batch_ms / 1000
        self._lock = asyncio.Lock()
        self._rows: list[Row] = []
        self._last: dict[TopicPartition, int] = {}
        self._stored: dict[TopicPartition, int | None] = {}  # what the next batch starts from
        self._first_at = 0.0
        self._writing: asyncio.Task[bool] | None = None
        self.last_progress = time.monotonic()
        self.assigned_at: float | None = None  # first assignment (monotonic), for the bench
        self.healthy = True

    # --- partitions ----------------------------------------------------------------------

    async def seek_to_stored(self, tps: Iterable[TopicPartition]) -> None:
        stored = await asyncio.to_thread(self.sink.stored_offsets)
        for tp in tps:
            offset = stored.get((tp.topic, tp.partition))
            self._stored[tp] = offset
            if offset is None:
                await self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, offset)

    def listener(self) -> ConsumerRebalanceListener:
        loader = self

        class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
            async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
                async with loader._lock:
                    await loader._flush()
                    await loader._settle()
                for tp in revoked:
                    loader._stored.pop(tp, None)

            async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
                async with loader._lock:
                    await loader.seek_to_stored(assigned)
                if assigned and loader.assigned_at is None:
                    loader.assigned_at = time.monotonic()
                log.info("load: assigned %s", sorted(f"{t.topic}[{t.partition}]" for t in assigned))

        return _Rebalance()

    # --- the loop ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, *, exit_when_idle: bool = False) -> None:
        """Until `stop` is set, or (exit_when_idle) every assigned partition is loaded up
        to its high watermark."""
        self.consumer.subscribe(self.topics, listener=self.listener())
        while not stop.is_set():
            wait_s = self.batch_s - (time.monotonic() - self._first_at) if self._rows else 0.2
            batch = await self.consumer.getmany(
                timeout_ms=max(1, int(wait_s * 1000)),
                max_records=max(1, self.batch_records - len(self._rows)),
            )
            async with self._lock:
                for tp, records in batch.items():
                    if tp not in self._stored:
                        continue  # revoked while fetched
                    # Records from before a seek (a fetch in flight during a rebalance or
                    # a fence) are behind what the database holds: never load them twice.
                    floor = self._last[tp] + 1 if tp in self._last else self._stored[tp] or 0
                    records = [r for r in records if r.offset >= floor]
                    if not records:
                        continue
                    if not self._rows:
                        self._first_at = time.monotonic()
                    self._rows.extend(
                        layout.row_of(r.topic, r.partition, r.offset, r.value or b"")
                        for r in records
                    )
                    self._last[tp] = records[-1].offset
                due = self._rows and (len(self._rows) >= self.batch_records
                                      or time.monotonic() - self._first_at >= self.batch_s)
                if due:
                    await self._flush()
            self.last_progress = time.monotonic()
            self._observe_lag()
            if exit_when_idle and not self._rows and await self._caught_up():
                async with self._lock:
                    await self._settle()
                if not self._rows and await self._caught_up():
                    return
        async with self._lock:
            await self._flush()
            await self._settle()

    async def _flush(self) -> None:
        """Hand the buffered batch to the writer (after the previous write has settled):
        the next batch is fetched and mapped while this one is written."""
        await self._settle()
        if not self._last:
            return
        rows, last = self._rows, self._last
        self._rows, self._last = [], {}
        advance: Advance = {
            (tp.topic, tp.partition): (self._stored.get(tp), offset + 1)
            for tp, offset in last.items()
        }
        for tp, offset in last.items():  # what the database holds once this batch commits
            self._stored[tp] = offset + 1
        self._writing = asyncio.create_task(self._write(rows, advance))

    async def _settle(self) -> None:
        """Await the write in flight; if it failed, drop what was fetched after it and
        re-read from the offsets the database holds."""
        if self._writing is None:
            return
        writing, self._writing = self._writing, None
        if await writing:
            return
        self._rows, self._last = [], {}
        try:
            await self.seek_to_stored(self.consumer.assignment())
        except Exception as exc:
            log.error("load: cannot read the stored offsets (%s)", type(exc).__name__)

    async def _write(self, rows: list[Row], advance: Advance) -> bool:
        started = time.perf_counter()
        try:
            await asyncio.to_thread(self.sink.write, rows, advance)
        except Fenced as exc:
            self.telemetry.fenced.inc()
            log.warning("load: batch not written, %s; re-reading stored offsets", exc)
            return False
        except Exception as exc:  # the database went away: retry from what it holds
            self.healthy = False
            log.error("load: writing %d rows failed (%s); retrying from the stored offsets",
                      len(rows), type(exc).__name__ + (f": {exc}" if str(exc) else ""))
            await asyncio.sleep(RETRY_AFTER_ERROR_S)
            return False
        self.healthy = True
        self.telemetry.batch_seconds.observe(time.perf_counter() - started)
        self.telemetry.batches.inc()
        by_topic: dict[str, int] = {}
        for row in rows:
            by_topic[row[0]] = by_topic.get(row[0], 0) + 1
        for topic, count in by_topic.items():
            self.telemetry.rows.labels(topic).inc(count)
        return True

    async def _caught_up(self) -> bool:
        assigned = self.consumer.assignment()
        if not assigned:
            return False
        for tp in assigned:
            high = self.consumer.highwater(tp)
            if high is None or await self.consumer.position(tp) < high:
                return False
        return True

    def _observe_lag(self) -> None:
        for tp in self.consumer.assignment():
            high = self.consumer.highwater(tp)
            stored = self._stored.get(tp)
            if high is not None:
                self.telemetry.lag.labels(tp.topic, str(tp.partition)).set(
                    max(0, high - (stored or 0)))


async def load_topics(
    settings: Settings,
    sink: Sink,
    topics: list[str],
    *,
    group_id: str,
    batch_records: int,
    batch_ms: int,
    telemetry: LoadTelemetry | None = None,
    stop: asyncio.Event | None = None,
    exit_when_idle: bool = False,
    on_start: Callable[[Loader], None] | None = None,
) -> Loader:
    """One loader in consumer group `group_id`, from start to `stop` (or idle): the body of
    `eventyard load`, the demo's final load and the bench."""
    consumer = kafka.group_consumer(settings.model_copy(update={"group_id": group_id}))
    loader = Loader(consumer, sink, topics, telemetry or LoadTelemetry(),
                    batch_records=batch_records, batch_ms=batch_ms)
    if on_start is not None:
        on_start(loader)
    await consumer.start()
    try:
        await loader.run(stop or asyncio.Event(), exit_when_idle=exit_when_idle)
    finally:
        await consumer.stop()
    return loader
