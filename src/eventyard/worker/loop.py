"""The hot path: one consumer, one producer, one task, whole batches at a time.

Per batch: fetch up to `batch_max_records` from raw + keyed, run both hops over the bytes,
hand every output, dead letter and dedup changelog entry to the producer, then, while the
next batch is fetched and routed, await every delivery and commit offset+1 of the last
record of every partition in the batch. A changelog entry counts on
restore only if its batch was committed (it records the routed record's offset), so a
crash before the commit replays the batch and routes it again instead of calling it a
duplicate, i.e. losing it. After a crash only uncommitted batches repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from eventyard.kafka import clients as kafka
from eventyard.kafka.producer import BatchSender, Send
from eventyard.settings import Settings
from eventyard.telemetry import Telemetry, observe_many
from eventyard.worker import changelog
from eventyard.worker.dedup import DedupStore
from eventyard.worker.dispatch import Batch, Direct, Record, admit_raw, route_keyed
from eventyard.worker.gcpolicy import GcPolicy
from eventyard.worker.policy_holder import PolicyHolder

log = logging.getLogger(__name__)

LAG_INTERVAL_S = 1.0
# Batches that may await their acknowledgements and commit while the next one is routed.
# Each is also a batch a crash replays; see the bound in docs/runtime.md.
MAX_SETTLING = 2
Records = dict[TopicPartition, list[Record]]


class Pipeline:
    def __init__(self, settings: Settings, telemetry: Telemetry, policy: PolicyHolder) -> None:
        self.settings = settings
        self.telemetry = telemetry
        self.policy = policy
        self.store = DedupStore(policy.current.dedup_window_ms)
        self.gc = GcPolicy(settings.gc_full_interval_s)
        self.exactly_once = settings.processing_guarantee == "exactly_once"
        # Held for a whole batch; rebalance callbacks take it, so a revoke waits for the
        # in-flight batch and an assignment's restore runs between batches.
        self.lock = asyncio.Lock()
        # Bumped on every revoke: a batch fetched under an older assignment is not routed.
        self._generation = 0
        self._rebalancing = False
        self._stopping = asyncio.Event()
        self.done = asyncio.Event()
        self._fatal: BaseException | None = None
        # Keyed partitions whose dedup state is loaded; records of others wait. Raw records
        # of these partition numbers may take the direct path (worker/dispatch.py).
        self._restored: set[int] = set()
        self._keyed_partitions = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._sender: BatchSender | None = None
        # Batches whose deliveries and commit are pending, oldest first (see _publish).
        self._settling: deque[asyncio.Task[None]] = deque()
        self._next_lag = 0.0
        self.last_progress = time.monotonic()
        self.running = False

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        transactional_id = None
        if self.exactly_once:
            transactional_id = s.transactional_id or f"{s.group_id}-{socket.gethostname()}"
        self._producer = kafka.producer(s, transactional_id=transactional_id)
        await self._producer.start()
        self._sender = BatchSender(self._producer)
        self._keyed_partitions = await self._sender.partition_count(s.topic_keyed)
        raw_partitions = await self._sender.partition_count(s.topic_raw)
        if raw_partitions != self._keyed_partitions:
            log.warning(
                "%s has %d partitions and %s has %d: the direct path needs equal counts, so "
                "nearly every event takes the keyed hop (correct, but slower)",
                s.topic_raw, raw_partitions, s.topic_keyed, self._keyed_partitions,
            )
        self._consumer = kafka.group_consumer(s, read_committed=self.exactly_once)
        await self._consumer.start()
        self._consumer.subscribe([s.topic_raw, s.topic_keyed], listener=_Listener(self))
        self.running = True

    def request_stop(self) -> None:
        self._stopping.set()

    async def close(self) -> None:
        """Flush and close clients; leaving the group lets the others take over at once."""
        self.running = False
        with contextlib.suppress(Exception):  # already logged by _commit if it failed
            await self.flush_commit()
        if self._producer is not None:
            await self._producer.stop()
        if self._consumer is not None:
            await self._consumer.stop()

    async def run(self) -> None:
        consumer = self._consumer
        assert consumer is not None, "start() first"
        try:
            while not self._stopping.is_set():
                if self._fatal is not None:
                    raise self._fatal
                generation = self._generation
                # Not under the lock: during a rebalance getmany() blocks until the new
                # assignment, and the revoke callback needs the lock first.
                batch = await consumer.getmany(
                    timeout_ms=self.settings.fetch_timeout_ms,
                    max_records=self.settings.batch_max_records,
                )
                async with self.lock:
                    if batch:
                        if generation != self._generation or self._rebalancing:
                            # Fetched under an assignment that has since changed.
                            self._rewind(batch)
                        else:
                            await self._process(batch)
                self.last_progress = time.monotonic()
                self.gc.after_batch()
                await self._update_lag()
            await self.flush_commit()
            log.info("routing loop stopped after its last batch")
        finally:
            self.done.set()

    # --- one batch -------------------------------------------------------------------

    async def _process(self, records: Records) -> None:
        fetched = time.perf_counter()
        s = self.settings
        records = self._hold_unrestored(records)
        if not records:
            return
        policy = self.policy.current
        if policy.dedup_window_ms != self.store.window_ms:
            self.store.set_window(policy.dedup_window_ms)
        batch = Batch(now_ms=int(time.time() * 1000))
        direct = Direct(frozenset(self._restored), self._keyed_partitions)
        fetch_wait = self.telemetry.fetch_wait_seconds
        for tp, recs in records.items():
            batch.records_in += len(recs)
            if tp.topic == s.topic_raw:
                # One observation per partition, for all its records: the middle record's
                # wait stands for the rest (a per-record observe() is what observe_many
                # exists to avoid, telemetry.py).
                waited_ms = batch.now_ms - recs[len(recs) // 2].timestamp
                observe_many(fetch_wait, max(0.0, waited_ms / 1000), len(recs))
                for rec in recs:
                    admit_raw(s, rec, policy, self.store, direct, batch)
            else:
                for rec in recs:
                    route_keyed(s, rec, policy, self.store, batch)
        offsets = {tp: OffsetAndMetadata(recs[-1].offset + 1, "") for tp, recs in records.items()}
        if self.exactly_once:
            await self._publish_transaction(batch, offsets)
            self._record_metrics(batch, time.perf_counter() - fetched)
        else:
            await self._publish(batch, offsets, fetched)
        self.store.expire(batch.now_ms)

    async def _publish(
        self, batch: Batch, offsets: dict[TopicPartition, OffsetAndMetadata], fetched: float
    ) -> None:
        # One round: changelog entries go out with the outputs they guard. They only count
        # once this batch's offsets are committed (worker/changelog.py), so a crash before
        # the commit replays the batch and routes it again, never loses it.
        assert self._sender is not None
        acked = await self._sender.ship([*batch.sends, *self._changelog_sends(batch)])
        # Acknowledgements and the commit complete while the next batches are fetched and
        # routed: waiting for them here put Tansu's produce and commit round trips (up to
        # 25 ms each, measured) in front of every event of the next batch. Batches settle
        # in order, each after the one before it, and at most MAX_SETTLING at a time.
        await self.flush_commit(keep=MAX_SETTLING - 1)
        before = self._settling[-1] if self._settling else None
        self._settling.append(
            asyncio.create_task(self._settle(before, acked, batch, offsets, fetched))
        )

    async def _settle(
        self, before: asyncio.Task[None] | None, acked: Awaitable[object], batch: Batch,
        offsets: dict[TopicPartition, OffsetAndMetadata], fetched: float,
    ) -> None:
        await acked  # a failed delivery raises here; flush_commit makes it fatal
        if before is not None:
            await before  # never commit past a batch that failed, nor ahead of it
        self._record_metrics(batch, time.perf_counter() - fetched)
        await self._commit(offsets)

    async def _commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        assert self._consumer is not None
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The group moved on: the new owner replays this batch. Its outputs are out,
            # so the replay costs duplicates, never a loss.
            log.warning("commit failed after a rebalance, batch will be replayed: %s", exc)

    async def flush_commit(self, keep: int = 0) -> None:
        """Wait until at most `keep` batches are unacknowledged or uncommitted (none by
        default: before a revoke or shutdown)."""
        while len(self._settling) > keep:
            task = self._settling.popleft()
            try:
                await task
            except Exception as exc:
                # A delivery failed: nothing after that batch may commit. The loop stops
                # the worker (also when a rebalance callback met the error first); after
                # a restart the uncommitted batches replay.
                self._fatal = exc
                for later in self._settling:
                    later.cancel()
                self._settling.clear()
                raise

    async def _publish_transaction(
        self, batch: Batch, offsets: dict[TopicPartition, OffsetAndMetadata]
    ) -> None:
        # Outputs, changelog and offsets commit atomically: order inside is irrelevant.
        producer = self._producer
        assert producer is not None
        async with producer.transaction():
            assert self._sender is not None
            await self._sender.send_all([*batch.sends, *self._changelog_sends(batch)])
            await producer.send_offsets_to_transaction(offsets, self.settings.group_id)

    def _changelog_sends(self, batch: Batch) -> list[Send]:
        topic, now_ms = self.settings.topic_dedup, batch.now_ms
        return [
            Send(topic, changelog.encode_value(now_ms, offset, raw=raw), key, [], partition=p)
            for p, key, offset, raw in batch.first_seen
        ]

    def _hold_unrestored(self, records: Records) -> Records:
        """Rewind keyed partitions whose dedup state is not loaded yet (they are fetched
        again after the restore) instead of routing them without their history."""
        held = {tp: recs for tp, recs in records.items()
                if tp.topic == self.settings.topic_keyed and tp.partition not in self._restored}
        self._rewind(held)
        return {tp: recs for tp, recs in records.items() if tp not in held}

    def _rewind(self, records: Records) -> None:
        """Fetch these records again. Safe: everything before them in their partition was
        published by this worker already, or is committed."""
        assert self._consumer is not None
        assigned = self._consumer.assignment()
        for tp, recs in records.items():
            if tp in assigned and recs:
                with contextlib.suppress(IllegalStateError):
                    self._consumer.seek(tp, recs[0].offset)

    def _record_metrics(self, batch: Batch, seconds: float) -> None:
        t = self.telemetry
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
        lag = {k: t.event_lag_seconds.labels(**{"class": k}) for k in ("ads", "crm", "warehouse")}
        # Records of one event share its event time: one observation call per (class, time).
        for (klass, event_ms), n in Counter(batch.event_times).items():
            observe_many(lag[klass], max(0.0, (now_ms - event_ms) / 1000), n)
        t.dedup_ids.set(len(self.store))
        t.batches.inc()

    async def _update_lag(self) -> None:
        now = time.monotonic()
        if now < self._next_lag or self._consumer is None:
            return
        self._next_lag = now + LAG_INTERVAL_S
        consumer = self._consumer
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            try:
                position = await consumer.position(tp)
            except IllegalStateError:
                continue  # revoked meanwhile
            self.telemetry.consumer_lag.labels(topic=tp.topic, partition=str(tp.partition)).set(
                max(0, high - position)
            )

    # --- rebalance -------------------------------------------------------------------

    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        self._rebalancing = True
        self._generation += 1
        async with self.lock:  # the in-flight batch finishes (and commits) first
            await self.flush_commit()
            for tp in revoked:
                if tp.topic == self.settings.topic_keyed:
                    self.store.drop_partition(tp.partition)
                    self._restored.discard(tp.partition)
                with contextlib.suppress(KeyError):  # no lag reported for it yet
                    self.telemetry.consumer_lag.remove(tp.topic, str(tp.partition))
            self.telemetry.dedup_ids.set(len(self.store))
        log.info("revoked %s", _fmt(revoked))

    async def on_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("assigned %s", _fmt(assigned))
        fresh = sorted(tp.partition for tp in assigned
                       if tp.topic == self.settings.topic_keyed
                       and tp.partition not in self._restored)
        if not fresh:
            self._rebalancing = False
            return
        async with self.lock:
            try:
                for p in fresh:
                    self.store.drop_partition(p)
                committed = changelog.Committed(
                    keyed=await self._committed(self.settings.topic_keyed, fresh),
                    raw=await self._committed(self.settings.topic_raw, fresh),
                )
                await changelog.restore(
                    self.settings, self.store, fresh, int(time.time() * 1000), committed
                )
            except Exception as exc:
                # aiokafka only logs listener errors; routing without history would route
                # duplicates, so the loop re-raises this and the worker exits.
                log.error("dedup restore failed: %r", exc)
                self._fatal = exc
                return
            self._restored.update(fresh)
            self._rebalancing = False
            self.telemetry.dedup_ids.set(len(self.store))


    async def _committed(self, topic: str, partitions: list[int]) -> dict[int, int]:
        consumer = self._consumer
        assert consumer is not None
        committed: dict[int, int] = {}
        for p in partitions:
            offset = await consumer.committed(TopicPartition(topic, p))
            if offset is not None:
                committed[p] = offset
        return committed


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, pipeline: Pipeline) -> None:
        self._on_revoked: Callable[[set[TopicPartition]], Awaitable[None]] = pipeline.on_revoked
        self._on_assigned: Callable[[set[TopicPartition]], Awaitable[None]] = pipeline.on_assigned

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._on_assigned(assigned)


def _fmt(tps: set[TopicPartition]) -> str:
    by_topic: dict[str, list[int]] = {}
    for tp in tps:
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    return ", ".join(f"{t}{sorted(ps)}" for t, ps in sorted(by_topic.items())) or "nothing"
