"""The signals processor's loop: warehouse records in, derived events and state out.

Per batch, in this order:
1. every record of each assigned partition goes through its PartitionEngine (pure);
2. the derived events are sent to the raw topic and acknowledged;
3. the changed windows and the partition's position are written to the state changelog
   and acknowledged;
4. the group offsets are committed (for lag and tooling; restore trusts the changelog's
   position entry, which is never behind the state it describes).

A crash after 2 replays the batch from the previous position and fires the same signals
again with the same eventIds (the router drops them as duplicates); a crash after 3
replays it into state that already holds it, which fires nothing (signals_worker/state.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from eventyard.kafka import clients as kafka
from eventyard.kafka.producer import BatchSender, Send
from eventyard.policy.compiled import CompiledPolicy
from eventyard.settings import Settings
from eventyard.signals.derived import derived_event
from eventyard.signals.engine import PartitionEngine
from eventyard.signals.observed import observe_warehouse_record
from eventyard.signals_worker import state
from eventyard.telemetry import SignalsTelemetry
from eventyard.worker.dispatch import Record

log = logging.getLogger(__name__)

EVICT_INTERVAL_S = 10.0
LAG_INTERVAL_S = 1.0


class SignalsProcessor:
    def __init__(
        self, settings: Settings, telemetry: SignalsTelemetry, policy: CompiledPolicy
    ) -> None:
        self.settings = settings
        self.telemetry = telemetry
        self.rules = {r.name: r for r in policy.signals}
        self.source = policy.signals_source
        self.engines: dict[int, PartitionEngine] = {}
        self.lock = asyncio.Lock()
        self._generation = 0
        self._stopping = asyncio.Event()
        self._fatal: BaseException | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._sender: BatchSender | None = None
        self._next_evict = 0.0
        self._next_lag = 0.0
        self.last_progress = time.monotonic()
        self.running = False
        for rule in self.rules:
            telemetry.fired.labels(rule=rule)

    async def start(self) -> None:
        s = self.settings
        self._producer = kafka.producer(s)
        await self._producer.start()
        self._sender = BatchSender(self._producer)
        group = s.model_copy(update={"group_id": s.signals_group_id})
        self._consumer = kafka.group_consumer(group)
        await self._consumer.start()
        self._consumer.subscribe([s.topic_warehouse], listener=_Listener(self))
        self.running = True

    def request_stop(self) -> None:
        self._stopping.set()

    async def close(self) -> None:
        self.running = False
        if self._producer is not None:
            await self._producer.stop()
        if self._consumer is not None:
            await self._consumer.stop()  # leaves the group: the others take over at once

    async def run(self) -> None:
        consumer = self._consumer
        assert consumer is not None, "start() first"
        while not self._stopping.is_set():
            if self._fatal is not None:
                raise self._fatal
            generation = self._generation
            batch = await consumer.getmany(
                timeout_ms=self.settings.fetch_timeout_ms,
                max_records=self.settings.batch_max_records,
            )
            async with self.lock:
                if batch and generation != self._generation:
                    self._rewind(batch)  # fetched under an assignment that has changed
                elif batch:
                    await self._process(batch)
            self.last_progress = time.monotonic()
            await self._update_lag()
        log.info("signals loop stopped after its last batch")

    # --- one batch -------------------------------------------------------------------

    async def _process(self, batch: dict[TopicPartition, list[Record]]) -> None:
        assert self._sender is not None and self._consumer is not None
        s = self.settings
        signals: list[Send] = []
        touched: dict[TopicPartition, PartitionEngine] = {}
        fired_by_rule: dict[str, int] = {}
        records = 0
        for tp, recs in batch.items():
            engine = self.engines.get(tp.partition)
            if engine is None or not recs:
                continue  # revoked meanwhile
            if engine.offset is not None and recs[0].offset > engine.offset:
                # Fetched from a position older than the restored state's: read again.
                with contextlib.suppress(IllegalStateError):
                    self._consumer.seek(tp, engine.offset)
                continue
            for rec in recs:
                if engine.offset is not None and rec.offset < engine.offset:
                    continue  # already in the state
                records += 1
                engine.offset = rec.offset + 1
                obs = observe_warehouse_record(rec.value)
                if obs is None or obs.destination != self.source:
                    continue
                for fired in engine.observe(obs):
                    key, value = derived_event(self.rules[fired.rule], fired)
                    signals.append(Send(s.topic_raw, value, key, []))
                    fired_by_rule[fired.rule] = fired_by_rule.get(fired.rule, 0) + 1
            touched[tp] = engine
        if not touched:
            return
        now = time.monotonic()
        if now >= self._next_evict:
            self._next_evict = now + EVICT_INTERVAL_S
            evicted = sum(e.evict() for e in self.engines.values())
            self.telemetry.evicted.inc(evicted)
            touched.update({TopicPartition(s.topic_warehouse, p): e
                            for p, e in self.engines.items()})
        if signals:
            await self._sender.send_all(signals)  # acknowledged before the state says so
        entries = [
            Send(s.topic_signals_state, value, key, [], partition=tp.partition)
            for tp, engine in touched.items() for key, value in engine.take_changes()
        ]
        await self._sender.send_all(entries)
        offsets = {tp: OffsetAndMetadata(e.offset, "") for tp, e in touched.items()
                   if e.offset is not None}
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning("commit failed after a rebalance (the changelog holds the state): %s",
                        exc)
        t = self.telemetry
        t.records.inc(records)
        for rule, n in fired_by_rule.items():
            t.fired.labels(rule=rule).inc(n)
        t.state_windows.set(sum(len(e) for e in self.engines.values()))
        t.batches.inc()

    async def _update_lag(self) -> None:
        now = time.monotonic()
        if now < self._next_lag or self._consumer is None:
            return
        self._next_lag = now + LAG_INTERVAL_S
        consumer = self._consumer
        wall_ms = time.time() * 1000
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            engine = self.engines.get(tp.partition)
            if engine is not None and engine.watermark:
                self.telemetry.watermark_lag_seconds.labels(partition=str(tp.partition)).set(
                    max(0.0, (wall_ms - engine.watermark) / 1000))
            if high is None:
                continue
            try:
                position = await consumer.position(tp)
            except IllegalStateError:
                continue
            self.telemetry.consumer_lag.labels(partition=str(tp.partition)).set(
                max(0, high - position))

    # --- rebalance -------------------------------------------------------------------

    def _rewind(self, batch: dict[TopicPartition, list[Record]]) -> None:
        """Fetch these records again (from the restored position, where there is one)."""
        assert self._consumer is not None
        assigned = self._consumer.assignment()
        for tp, recs in batch.items():
            engine = self.engines.get(tp.partition)
            if tp in assigned and recs:
                offset = engine.offset if engine is not None and engine.offset is not None \
                    else recs[0].offset
                with contextlib.suppress(IllegalStateError):
                    self._consumer.seek(tp, min(offset, recs[0].offset))

    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        self._generation += 1
        async with self.lock:  # the in-flight batch finishes and writes its state first
            for tp in revoked:
                self.engines.pop(tp.partition, None)
                for gauge in (self.telemetry.consumer_lag, self.telemetry.watermark_lag_seconds):
                    with contextlib.suppress(KeyError):
                        gauge.remove(str(tp.partition))
            self.telemetry.state_windows.set(sum(len(e) for e in self.engines.values()))
        log.info("revoked %s", sorted(tp.partition for tp in revoked))

    async def on_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("assigned %s", sorted(tp.partition for tp in assigned))
        fresh = sorted(tp.partition for tp in assigned if tp.partition not in self.engines)
        if not fresh:
            return
        async with self.lock:
            try:
                engines = await state.restore(
                    self.settings, list(self.rules.values()), self.rules, fresh)
            except Exception as exc:
                # Counting without the history would fire wrongly: stop the processor.
                log.error("signals restore failed: %r", exc)
                self._fatal = exc
                return
            assert self._consumer is not None
            for p, engine in engines.items():
                if engine.offset is not None:
                    self._consumer.seek(TopicPartition(self.settings.topic_warehouse, p),
                                        engine.offset)
            self.engines.update(engines)
            self.telemetry.state_windows.set(sum(len(e) for e in self.engines.values()))


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, processor: SignalsProcessor) -> None:
        self._on_revoked: Callable[[set[TopicPartition]], Awaitable[None]] = processor.on_revoked
        self._on_assigned: Callable[[set[TopicPartition]], Awaitable[None]] = (
            processor.on_assigned)

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._on_assigned(assigned)
