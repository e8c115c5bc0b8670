"""Outgoing records (`Send`), and publishing them as one record batch per partition.

`producer.send()` costs a future, an accumulator lookup and a partitioner call per
record, and the router sends several records per event. Here each record is appended to
a BatchBuilder of its partition and every builder goes out with one `send_batch()`, so the
per-record cost is a single append. Partitions are chosen exactly as `send()` would
(kafka/partitioning.py: murmur2 of the key, as the Java client), so keys keep their
partition.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import TypeAlias

from eventyard.kafka.interfaces import BatchBuilder, Producer
from eventyard.kafka.partitioning import identity_partition

Headers: TypeAlias = list[tuple[str, bytes]]


@dataclass(slots=True)
class Send:
    """One record to publish. `partition` None: chosen from the key, as the Java client."""

    topic: str
    value: bytes | None
    key: bytes | None
    headers: Headers
    partition: int | None = None
    timestamp_ms: int | None = None


class BatchSender:
    def __init__(self, producer: Producer) -> None:
        self._producer = producer
        self._counts: dict[str, int] = {}

    async def partition_count(self, topic: str) -> int:
        known = self._counts.get(topic)
        if known is None:
            # Partition counts never change under us: create_partitions is refused on Tansu
            # and documented as a stop-the-world change on Kafka (docs/runtime.md).
            known = len(await self._producer.partitions_for(topic))
            self._counts[topic] = known
        return known

    async def send_all(self, sends: Iterable[Send]) -> None:
        """Send everything and wait until every record is acknowledged (acks=all)."""
        await (await self.ship(sends))

    async def ship(self, sends: Iterable[Send]) -> Awaitable[object]:
        """Hand everything to the producer now; the result completes once every record is
        acknowledged (acks=all) and raises if any delivery failed."""
        builders: dict[tuple[str, int], BatchBuilder] = {}
        futures: list[Awaitable[object]] = []
        counts = self._counts
        # One event's records share one key object (its identity) and, as output topics
        # have equal partition counts, one partition: remember the last answer.
        last: tuple[bytes | None, int, int] = (None, 0, 0)
        for s in sends:
            partition = s.partition
            if partition is None:
                n = counts.get(s.topic) or await self.partition_count(s.topic)
                if s.key is not None and s.key is last[0] and n == last[1]:
                    partition = last[2]
                else:
                    partition = identity_partition(s.key, n)
                    last = (s.key, n, partition)
            tp = (s.topic, partition)
            builder = builders.get(tp)
            if builder is None:
                builder = builders[tp] = self._producer.create_batch()
            if builder.append(
                key=s.key, value=s.value, timestamp=s.timestamp_ms, headers=s.headers
            ) is None:
                # Full (max_batch_size): ship it and start the next one for this partition.
                futures.append(await self._ship(builder, tp[0], tp[1]))
                builder = builders[tp] = self._producer.create_batch()
                builder.append(key=s.key, value=s.value, timestamp=s.timestamp_ms,
                               headers=s.headers)
        for (topic, partition), builder in builders.items():
            futures.append(await self._ship(builder, topic, partition))
        return asyncio.gather(*futures)

    async def _ship(self, builder: BatchBuilder, topic: str, partition: int) -> Awaitable[object]:
        # A closed batch is sent at once; an open one waits out linger_ms first
        # (aiokafka's MessageBatch), which only added latency: the batch is complete.
        builder.close()
        future: Awaitable[object] = await self._producer.send_batch(
            builder, topic, partition=partition
        )
        return future
