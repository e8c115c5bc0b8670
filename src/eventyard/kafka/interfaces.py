"""The calls eventyard makes on Kafka clients, as typing Protocols.

aiokafka's clients (kafka/clients.py, `KafkaClients`) provide them, and so does the
in-memory double the loop's unit tests run on (local/memory_kafka.py, `MemoryKafka`).
Code that is handed a client types it with these, so a call the double lacks is a type
error rather than a surprise at run time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeAlias

from aiokafka.structs import ConsumerRecord, OffsetAndMetadata, TopicPartition

Record: TypeAlias = ConsumerRecord[bytes, bytes]
Fetched: TypeAlias = dict[TopicPartition, list[Record]]
Offsets: TypeAlias = Mapping[TopicPartition, OffsetAndMetadata]


class BatchBuilder(Protocol):
    """One partition's record batch, filled and then sent with `Producer.send_batch`."""

    def append(
        self, *, key: bytes | None, value: bytes | None, timestamp: int | None,
        headers: list[tuple[str, bytes]],
    ) -> object | None:
        """None when the batch is full."""

    def close(self) -> None: ...


class Producer(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def partitions_for(self, topic: str) -> set[int]: ...
    def create_batch(self) -> BatchBuilder: ...

    async def send_batch(
        self, batch: BatchBuilder, topic: str, *, partition: int
    ) -> Awaitable[object]:
        """Hand the batch over now; the result completes when the broker acknowledged it
        and raises if the delivery failed."""

    def transaction(self) -> AbstractAsyncContextManager[object]: ...
    async def send_offsets_to_transaction(self, offsets: Offsets, group_id: str) -> None: ...


class Reader(Protocol):
    """What reading a partition up to its high watermark needs (kafka/highwater.py)."""

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> Fetched: ...

    def highwater(self, partition: TopicPartition) -> int | None: ...
    async def position(self, partition: TopicPartition) -> int: ...


class PlainConsumer(Reader, Protocol):
    """A group-less consumer, assigned partitions by hand."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def assign(self, partitions: list[TopicPartition]) -> None: ...
    async def seek_to_beginning(self, *partitions: TopicPartition) -> None: ...


class GroupConsumer(Reader, Protocol):
    """A consumer group member with manual commits."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    # `listener` is an aiokafka ConsumerRebalanceListener (untyped in aiokafka).
    def subscribe(self, topics: list[str], *, listener: Any) -> None: ...
    def assignment(self) -> set[TopicPartition]: ...
    def seek(self, partition: TopicPartition, offset: int) -> None: ...
    async def commit(self, offsets: Offsets) -> None: ...
    async def committed(self, partition: TopicPartition) -> int | None: ...


class Clients(Protocol):
    """Builds every client the worker uses (not started)."""

    def producer(self, *, transactional_id: str | None = None) -> Producer: ...
    def group_consumer(self, *, read_committed: bool = False) -> GroupConsumer: ...

    def plain_consumer(
        self, client_id: str, *, read_committed: bool = False
    ) -> PlainConsumer: ...
