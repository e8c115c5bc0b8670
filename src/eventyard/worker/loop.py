"""The hot path: one consumer, one producer, one task, whole batches at a time.

Per batch: fetch up to `batch_max_records` from raw + keyed, run the per-record steps
(worker/dispatch.py) over the bytes, and hand the batch to its `Checkpoint`
(worker/checkpoint.py), which ships every output, dead letter and dedup changelog entry
and commits the batch's offsets once all are acknowledged, in batch order, while the next
batches are fetched and routed. Dedup state follows the assignment through the rebalance
listener (worker/rebalance.py). The Kafka clients come from a `Clients` (kafka/
interfaces.py): aiokafka in the worker, an in-memory double in the unit tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time

from aiokafka.errors import IllegalStateError
from aiokafka.structs import TopicPartition

from eventyard.kafka.interfaces import Clients, GroupConsumer, Producer
from eventyard.settings import Settings
from eventyard.telemetry import Telemetry
from eventyard.worker.batch_metrics import ConsumerLag, observe_fetch_wait, record_batch
from eventyard.worker.checkpoint import Checkpoint, Checkpoints
from eventyard.worker.dedup import DedupStore
from eventyard.worker.dispatch import Batch, Direct, Record, admit_raw, route_keyed
from eventyard.worker.gcpolicy import GcPolicy
from eventyard.worker.policy_holder import PolicyHolder
from eventyard.worker.rebalance import Rebalance

log = logging.getLogger(__name__)

Records = dict[TopicPartition, list[Record]]


# Loop turns aiokafka's fetcher takes, once getmany() has drained partitions, to put its
# next fetch request for them on the wire: its wake-up, creating the request task, and
# that task's first step, which writes the request (aiokafka 0.14, Fetcher.
# _fetch_requests_routine; tests/integration/test_fetch_ahead.py pins it).
FETCHER_TURNS = 3


async def let_fetcher_run() -> None:
    """Yield to the event loop until the consumer's next fetch request is sent, so the
    broker serves it while this batch is routed (the CPU-bound routing blocks the loop):
    the next batch is then waiting when this one is shipped, instead of being asked for
    only then. Fetch time and routing time overlap instead of adding up."""
    for _ in range(FETCHER_TURNS):
        await asyncio.sleep(0)


class Pipeline:
    def __init__(
        self, settings: Settings, telemetry: Telemetry, policy: PolicyHolder, clients: Clients
    ) -> None:
        self.settings = settings
        self.telemetry = telemetry
        self.policy = policy
        self.clients = clients
        self.store = DedupStore(policy.current.dedup_window_ms)
        self.gc = GcPolicy(settings.gc_full_interval_s)
        self.exactly_once = settings.processing_guarantee == "exactly_once"
        # Held for a whole batch; rebalance callbacks take it, so a revoke waits for the
        # in-flight batch and an assignment's restore runs between batches.
        self.lock = asyncio.Lock()
        self.lag = ConsumerLag(telemetry)
        self._producer: Producer | None = None
        self._consumer: GroupConsumer | None = None
        self._checkpoints: Checkpoints | None = None
        self._rebalance: Rebalance | None = None
        self._keyed_partitions = 0
        self._stopping = asyncio.Event()
        self.done = asyncio.Event()
        self.last_progress = time.monotonic()
        self.running = False

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        transactional_id = None
        if self.exactly_once:
            transactional_id = s.transactional_id or f"{s.group_id}-{socket.gethostname()}"
        self._producer = producer = self.clients.producer(transactional_id=transactional_id)
        await producer.start()
        self._consumer = consumer = self.clients.group_consumer(read_committed=self.exactly_once)
        self._checkpoints = checkpoints = Checkpoints(
            producer, consumer, group_id=s.group_id, exactly_once=self.exactly_once,
            settled=self._settled,
        )
        self._keyed_partitions = await checkpoints.sender.partition_count(s.topic_keyed)
        raw_partitions = await checkpoints.sender.partition_count(s.topic_raw)
        if raw_partitions != self._keyed_partitions:
            log.warning(
                "%s has %d partitions and %s has %d: with unequal counts a worker seldom "
                "holds the dedup partition of the raw records it reads, so most events take "
                "the keyed hop (correct, but slower)",
                s.topic_raw, raw_partitions, s.topic_keyed, self._keyed_partitions,
            )
        self._rebalance = Rebalance(
            s, self.clients, consumer, self.store, self.telemetry, self.lag, self.lock,
            checkpoints.flush, raw_partitions,
        )
        await consumer.start()
        consumer.subscribe([s.topic_raw, s.topic_keyed], listener=self._rebalance)
        self.running = True

    def request_stop(self) -> None:
        self._stopping.set()

    async def close(self) -> None:
        """Flush and close clients; leaving the group lets the others take over at once."""
        self.running = False
        with contextlib.suppress(Exception):  # already raised by run() if it failed
            await self.flush_commit()
        if self._producer is not None:
            await self._producer.stop()
        if self._consumer is not None:
            await self._consumer.stop()

    async def run(self) -> None:
        consumer, rebalance = self._consumer, self._rebalance
        assert consumer is not None and rebalance is not None, "start() first"
        try:
            while not self._stopping.is_set():
                await self._raise_fatal()
                generation = rebalance.generation
                # Not under the lock: during a rebalance getmany() blocks until the new
                # assignment, and the revoke callback needs the lock first.
                batch = await consumer.getmany(
                    timeout_ms=self.settings.fetch_timeout_ms,
                    max_records=self.settings.batch_max_records,
                )
                if batch:
                    await let_fetcher_run()
                async with self.lock:
                    if batch:
                        if rebalance.unchanged_since(generation):
                            await self._process(batch)
                        else:  # fetched under an assignment that has since changed
                            self._rewind(batch)
                self.last_progress = time.monotonic()
                self.gc.after_batch()
                await self.lag.update(consumer)
            await self.flush_commit()
            log.info("routing loop stopped after its last batch")
        finally:
            self.done.set()

    async def flush_commit(self) -> None:
        """Wait until every shipped batch is acknowledged and committed."""
        if self._checkpoints is not None:
            await self._checkpoints.flush()

    async def _raise_fatal(self) -> None:
        """A failed delivery or dedup restore stops the loop (and the worker)."""
        assert self._checkpoints is not None and self._rebalance is not None
        await self._checkpoints.reap()
        for fatal in (self._checkpoints.fatal, self._rebalance.fatal):
            if fatal is not None:
                raise fatal

    # --- one batch -------------------------------------------------------------------

    async def _process(self, records: Records) -> None:
        fetched = time.perf_counter()
        s, checkpoints, rebalance = self.settings, self._checkpoints, self._rebalance
        assert checkpoints is not None and rebalance is not None
        records = self._hold_unrestored(records, rebalance.restored)
        if not records:
            return
        policy = self.policy.current
        if policy.dedup_window_ms != self.store.window_ms:
            self.store.set_window(policy.dedup_window_ms)
        batch = Batch(now_ms=int(time.time() * 1000))
        direct = Direct(frozenset(rebalance.restored), self._keyed_partitions)
        for tp, recs in records.items():
            batch.records_in += len(recs)
            if tp.topic == s.topic_raw:
                observe_fetch_wait(self.telemetry, batch.now_ms, recs)
                for rec in recs:
                    admit_raw(s, rec, policy, self.store, direct, batch)
            else:
                for rec in recs:
                    route_keyed(s, rec, policy, self.store, batch)
        await checkpoints.commit(Checkpoint(batch, records, s.topic_dedup, fetched))
        self.store.expire(batch.now_ms)

    def _settled(self, checkpoint: Checkpoint, seconds: float) -> None:
        record_batch(self.telemetry, checkpoint.batch, seconds, len(self.store))

    def _hold_unrestored(self, records: Records, restored: set[int]) -> Records:
        """Rewind keyed partitions whose dedup state is not loaded yet (they are fetched
        again after the restore) instead of routing them without their history."""
        held = {tp: recs for tp, recs in records.items()
                if tp.topic == self.settings.topic_keyed and tp.partition not in restored}
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
