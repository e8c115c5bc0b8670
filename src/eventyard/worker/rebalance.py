"""The rebalance listener: dedup state follows the group's assignment of keyed partitions.

It shares the loop's lock. A revoke waits for the in-flight batch to publish and every
settling checkpoint to commit, then drops the dedup state of the revoked keyed partitions.
An assignment restores the state of each newly assigned keyed partition from the
changelog before any of its records are routed. `generation` is bumped at the start of
every revoke, and `rebalancing` holds until the restore is done: the loop rewinds a batch
fetched under an assignment that has changed since, and keyed records of a partition
whose state is not loaded, so they are fetched again.

aiokafka only logs an exception raised by a listener, so a failed restore is kept in
`fatal` and raised by the loop: routing without history would route duplicates.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiokafka import ConsumerRebalanceListener
from aiokafka.structs import TopicPartition

from eventyard.kafka.interfaces import Clients, GroupConsumer
from eventyard.settings import Settings
from eventyard.telemetry import Telemetry
from eventyard.worker import changelog
from eventyard.worker.batch_metrics import ConsumerLag
from eventyard.worker.dedup import DedupStore

log = logging.getLogger(__name__)


class Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(
        self, settings: Settings, clients: Clients, consumer: GroupConsumer,
        store: DedupStore, telemetry: Telemetry, lag: ConsumerLag, lock: asyncio.Lock,
        flush: Callable[[], Awaitable[None]], raw_partitions: int,
    ) -> None:
        self._settings = settings
        self._raw_partitions = raw_partitions
        self._clients = clients
        self._consumer = consumer
        self._store = store
        self._telemetry = telemetry
        self._lag = lag
        self._lock = lock
        self._flush = flush  # waits until every shipped checkpoint is committed
        self.generation = 0
        self.rebalancing = False
        self.restored: set[int] = set()  # keyed (= dedup) partitions whose state is loaded
        self.fatal: BaseException | None = None

    def unchanged_since(self, generation: int) -> bool:
        """No revoke since `generation` was read, and no restore under way."""
        return generation == self.generation and not self.rebalancing

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.rebalancing = True
        self.generation += 1
        async with self._lock:  # the in-flight batch finishes (and commits) first
            await self._flush()
            for tp in revoked:
                if tp.topic == self._settings.topic_keyed:
                    self._store.drop_partition(tp.partition)
                    self.restored.discard(tp.partition)
                self._lag.forget(tp)
            self._telemetry.dedup_ids.set(len(self._store))
        log.info("revoked %s", _fmt(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("assigned %s", _fmt(assigned))
        s = self._settings
        fresh = sorted(tp.partition for tp in assigned
                       if tp.topic == s.topic_keyed and tp.partition not in self.restored)
        if not fresh:
            self.rebalancing = False
            return
        async with self._lock:
            try:
                for p in fresh:
                    self._store.drop_partition(p)
                committed = changelog.Committed(
                    keyed=await self._committed(s.topic_keyed, fresh),
                    # Every raw partition: the direct path routes a record of dedup
                    # partition p from whichever raw partition it sits on.
                    raw=await self._committed(s.topic_raw, list(range(self._raw_partitions))),
                )
                # Under exactly_once only committed entries count: an aborted batch was
                # not published.
                consumer = self._clients.plain_consumer(
                    f"{s.group_id}-dedup-restore",
                    read_committed=s.processing_guarantee == "exactly_once",
                )
                await changelog.restore(
                    consumer, s.topic_dedup, self._store, fresh, int(time.time() * 1000),
                    committed,
                )
            except Exception as exc:
                log.error("dedup restore failed: %r", exc)
                self.fatal = exc
                return
            self.restored.update(fresh)
            self.rebalancing = False
            self._telemetry.dedup_ids.set(len(self._store))

    async def _committed(self, topic: str, partitions: list[int]) -> dict[int, int]:
        committed: dict[int, int] = {}
        for p in partitions:
            offset = await self._consumer.committed(TopicPartition(topic, p))
            if offset is not None:
                committed[p] = offset
        return committed


def _fmt(tps: set[TopicPartition]) -> str:
    by_topic: dict[str, list[int]] = {}
    for tp in tps:
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    return ", ".join(f"{t}{sorted(ps)}" for t, ps in sorted(by_topic.items())) or "nothing"
