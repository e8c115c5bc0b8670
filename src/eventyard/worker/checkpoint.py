"""One batch's writes and how they become durable: a `Checkpoint` per batch, settled in order.

A checkpoint holds everything one batch writes (outputs, dead letters, keyed copies and
dedup changelog entries) and the consumed offsets it completes.

At least once: `Checkpoints.commit` ships every record of the checkpoint in one round,
then, while the next batches are fetched and routed, awaits every acknowledgement
(acks=all), waits for the checkpoint before it, and commits offset+1 of the last record of
every partition in the batch. At most MAX_SETTLING checkpoints settle at a time. The
changelog entries travel in the same round as the outputs they guard: an entry counts on
restore only once its batch is committed (worker/changelog.py), so a crash before the
commit replays the batch and routes it again instead of calling it a duplicate.

A failed delivery voids every later checkpoint (none commits past it) and is raised to the
loop, which stops the worker; after a restart the uncommitted batches replay.

Exactly once: the records and the offsets go into one Kafka transaction per checkpoint
(`send_offsets_to_transaction`), committed before the next batch is routed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from eventyard.kafka.interfaces import GroupConsumer, Producer, Record
from eventyard.kafka.producer import BatchSender, Send
from eventyard.worker import changelog
from eventyard.worker.dispatch import Batch

log = logging.getLogger(__name__)

# Checkpoints that may await their acknowledgements and commit while the next batch is
# routed. Each is also a batch a crash replays; see the bound in docs/runtime.md.
MAX_SETTLING = 2


class Checkpoint:
    """One batch: its records to send (changelog entries included) and its offsets."""

    __slots__ = ("batch", "fetched", "offsets", "sends")

    def __init__(
        self, batch: Batch, records: dict[TopicPartition, list[Record]], changelog_topic: str,
        fetched: float,
    ) -> None:
        self.batch = batch
        self.fetched = fetched  # time.perf_counter() when the batch was fetched
        self.sends: list[Send] = [
            *batch.sends, *changelog.entries(changelog_topic, batch.now_ms, batch.first_seen)
        ]
        self.offsets = {
            tp: OffsetAndMetadata(recs[-1].offset + 1, "") for tp, recs in records.items()
        }

    async def ship(self, sender: BatchSender) -> Awaitable[object]:
        """Hand every record to the producer; the result completes once all are
        acknowledged and raises if any delivery failed."""
        return await sender.ship(self.sends)

    async def commit_offsets(self, consumer: GroupConsumer) -> None:
        try:
            await consumer.commit(self.offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The group moved on: the new owner replays this batch. Its outputs are out,
            # so the replay costs duplicates, never a loss.
            log.warning("commit failed after a rebalance, batch will be replayed: %s", exc)

    async def commit_transaction(
        self, producer: Producer, sender: BatchSender, group_id: str
    ) -> None:
        """Records and offsets commit atomically, so their order inside is irrelevant."""
        async with producer.transaction():
            await sender.send_all(self.sends)
            await producer.send_offsets_to_transaction(self.offsets, group_id)


class Checkpoints:
    """Commits checkpoints in the order they are handed over. `settled(checkpoint,
    seconds)` is called once a checkpoint's records are all acknowledged, with the time
    since its batch was fetched."""

    def __init__(
        self, producer: Producer, consumer: GroupConsumer, *, group_id: str,
        exactly_once: bool, settled: Callable[[Checkpoint, float], None],
    ) -> None:
        self.sender = BatchSender(producer)
        self._producer = producer
        self._consumer = consumer
        self._group_id = group_id
        self._exactly_once = exactly_once
        self._settled = settled
        self._settling: deque[asyncio.Task[None]] = deque()
        self.fatal: BaseException | None = None  # the delivery failure that stops the loop

    async def commit(self, checkpoint: Checkpoint) -> None:
        if self._exactly_once:
            await checkpoint.commit_transaction(self._producer, self.sender, self._group_id)
            self._settled(checkpoint, time.perf_counter() - checkpoint.fetched)
            return
        acked = await checkpoint.ship(self.sender)
        # Acknowledgements and the commit complete while the next batches are fetched and
        # routed, so the produce and commit round trips are not in front of every event
        # of the next batch.
        await self.flush(keep=MAX_SETTLING - 1)
        before = self._settling[-1] if self._settling else None
        self._settling.append(asyncio.create_task(self._settle(checkpoint, acked, before)))

    async def _settle(
        self, checkpoint: Checkpoint, acked: Awaitable[object], before: asyncio.Task[None] | None
    ) -> None:
        await acked  # a failed delivery raises here; flush() makes it fatal
        if before is not None:
            await before  # never commit past a batch that failed, nor ahead of it
        self._settled(checkpoint, time.perf_counter() - checkpoint.fetched)
        await checkpoint.commit_offsets(self._consumer)

    async def reap(self) -> None:
        """Drop the checkpoints at the head that have settled; raise the first failure
        (without waiting: a worker with nothing more to fetch still stops on it)."""
        while self._settling and self._settling[0].done():
            await self.flush(keep=len(self._settling) - 1)

    async def flush(self, keep: int = 0) -> None:
        """Wait until at most `keep` checkpoints are unacknowledged or uncommitted (none by
        default: before a revoke or shutdown)."""
        while len(self._settling) > keep:
            task = self._settling.popleft()
            try:
                await task
            except Exception as exc:
                # A delivery failed: nothing after that batch may commit. The loop stops
                # the worker (also when a rebalance callback met the error first); after
                # a restart the uncommitted batches replay.
                self.fatal = exc
                for later in self._settling:
                    later.cancel()
                self._settling.clear()
                raise
