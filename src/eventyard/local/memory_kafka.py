"""An in-memory Kafka: a cluster, a producer and consumers offering exactly the calls the
worker makes (kafka/interfaces.py), with no network, for unit tests of the loop.

In the spirit of httpx's MockTransport: the worker's own code runs unchanged, handed a
`MemoryKafka` instead of `KafkaClients`, and the test decides what the broker would:
- deliveries: acknowledged at once by default; after `hold_deliveries()` each stays
  pending (its records not yet written) until `acknowledge()` or `fail()`;
- the group: one consumer group, range assignment (each member gets the same partition
  numbers of every topic), an eager rebalance (every member's partitions revoked, then the
  new ones assigned) when a member joins or leaves or when the test calls `rebalance()`;
  `getmany()` blocks while a rebalance runs, as aiokafka's does;
- transactions: records and offsets of a transaction become visible together on commit
  and are dropped on abort.

`journal` lists what happened in order (deliveries, commits, revokes, assignments,
transactions), so a test can assert ordering without timing anything.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata, TopicPartition

from eventyard.errors import WaitTimeout
from eventyard.kafka.interfaces import Fetched, Offsets, Record

Entry = tuple[Any, ...]


@dataclass(eq=False)
class Delivery:
    """One partition's record batch handed to the producer, not yet acknowledged."""

    topic: str
    partition: int
    records: list[tuple[bytes | None, bytes | None, int | None, list[tuple[str, bytes]]]]
    future: asyncio.Future[object] = field(repr=False)


class _Builder:
    def __init__(self) -> None:
        self.records: list[
            tuple[bytes | None, bytes | None, int | None, list[tuple[str, bytes]]]
        ] = []
        self.closed = False

    def append(
        self, *, key: bytes | None, value: bytes | None, timestamp: int | None,
        headers: list[tuple[str, bytes]],
    ) -> object | None:
        if self.closed:
            return None
        self.records.append((key, value, timestamp, list(headers)))
        return len(self.records)

    def close(self) -> None:
        self.closed = True


class MemoryKafka:
    """The cluster, and the `Clients` (kafka/interfaces.py) that build clients on it."""

    def __init__(self, topics: Mapping[str, int] | None = None, group_id: str = "group") -> None:
        self.group_id = group_id
        self.partitions: dict[str, int] = dict(topics or {})
        self.logs: dict[TopicPartition, list[Record]] = {}
        self.committed: dict[TopicPartition, int] = {}
        self.journal: list[Entry] = []
        self.pending: list[Delivery] = []
        self.broken: dict[str, KafkaError] = {}  # topic -> the error every delivery gets
        self.hold = False
        self.members: list[MemoryGroupConsumer] = []
        self._needs_rebalance = False
        self._stable = asyncio.Event()
        self._stable.set()
        self._data = asyncio.Event()
        self._joined = 0

    # --- Clients ---------------------------------------------------------------------

    def producer(self, *, transactional_id: str | None = None) -> MemoryProducer:
        return MemoryProducer(self, transactional_id)

    def group_consumer(self, *, read_committed: bool = False) -> MemoryGroupConsumer:
        self._joined += 1
        return MemoryGroupConsumer(self, f"member-{self._joined}")

    def plain_consumer(self, client_id: str, *, read_committed: bool = False) -> MemoryConsumer:
        return MemoryConsumer(self, client_id)

    # --- what the test does ----------------------------------------------------------

    def produce(
        self, topic: str, value: bytes | None, key: bytes | None = None, *, partition: int = 0,
        headers: Iterable[tuple[str, bytes]] = (), timestamp_ms: int | None = None,
    ) -> int:
        """Write one record at once (test input); returns its offset."""
        return self._append(topic, partition, key, value, timestamp_ms, list(headers))

    def records(self, topic: str) -> list[Record]:
        """Every record written to `topic`, partition by partition, in offset order."""
        return [r for p in range(self.partitions.get(topic, 0))
                for r in self.logs.get(TopicPartition(topic, p), [])]

    def hold_deliveries(self) -> None:
        self.hold = True

    def acknowledge(self, deliveries: Iterable[Delivery] | None = None) -> None:
        """Write and acknowledge `deliveries` (default: every pending one), in order."""
        for d in self._take(deliveries):
            self._write(d)
            d.future.set_result(None)

    def fail(self, error: KafkaError, deliveries: Iterable[Delivery] | None = None) -> None:
        """Fail `deliveries` (default: every pending one): nothing of them is written."""
        for d in self._take(deliveries):
            self.journal.append(("failed", d.topic, d.partition))
            d.future.set_exception(error)

    async def rebalance(self) -> None:
        """Revoke every member's partitions, then assign by range (eager, as aiokafka)."""
        self._needs_rebalance = False
        self._stable.clear()
        try:
            members = list(self.members)
            for m in members:
                revoked = set(m.assigned)
                # As aiokafka: the member still owns (and may commit) them in the callback.
                await m.listener.on_partitions_revoked(revoked)
                m.assigned = set()
                self.journal.append(("revoked", m.name, frozenset(revoked)))
            for m, assigned in self._range(members).items():
                m.assigned = assigned
                m.positions = {tp: self.committed.get(tp, 0) for tp in assigned}
                await m.listener.on_partitions_assigned(set(assigned))
                self.journal.append(("assigned", m.name, frozenset(assigned)))
        finally:
            self._stable.set()
            self._wake()

    async def wait_until(self, predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
        """Let the event loop run until `predicate()` holds; WaitTimeout (a failed test,
        not a measurement) if it never does."""
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                raise WaitTimeout("condition not reached")
            await asyncio.sleep(0.001)

    def commits(self) -> list[dict[TopicPartition, int]]:
        return [e[1] for e in self.journal if e[0] == "commit"]

    # --- inside ----------------------------------------------------------------------

    def _take(self, deliveries: Iterable[Delivery] | None) -> list[Delivery]:
        chosen = list(self.pending if deliveries is None else deliveries)
        self.pending = [d for d in self.pending if d not in chosen]
        return chosen

    def _write(self, d: Delivery) -> None:
        for key, value, ts, headers in d.records:
            self._append(d.topic, d.partition, key, value, ts, headers)
        self.journal.append(("delivered", d.topic, d.partition, len(d.records)))

    def _append(
        self, topic: str, partition: int, key: bytes | None, value: bytes | None,
        timestamp_ms: int | None, headers: list[tuple[str, bytes]],
    ) -> int:
        if not 0 <= partition < self.partitions.get(topic, 0):
            raise KafkaError(f"no partition {partition} of topic {topic}")
        log = self.logs.setdefault(TopicPartition(topic, partition), [])
        ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
        log.append(ConsumerRecord(topic, partition, len(log), ts, 0, key, value, None,
                                  len(key or b""), len(value or b""), headers))
        self._wake()
        return len(log) - 1

    def _deliver(self, d: Delivery) -> None:
        if d.topic in self.broken:
            self.pending.append(d)
            self.fail(self.broken[d.topic], [d])
        elif self.hold:
            self.pending.append(d)
        else:
            self.pending.append(d)
            self.acknowledge([d])

    def _commit(self, offsets: Offsets) -> None:
        done = {tp: om.offset for tp, om in offsets.items()}
        self.committed.update(done)
        self.journal.append(("commit", done))

    def _range(
        self, members: list[MemoryGroupConsumer]
    ) -> dict[MemoryGroupConsumer, set[TopicPartition]]:
        out: dict[MemoryGroupConsumer, set[TopicPartition]] = {m: set() for m in members}
        for m in members:
            for topic in m.topics:
                n, k = self.partitions.get(topic, 0), len(members)
                i = members.index(m)
                start = i * (n // k) + min(i, n % k)
                size = n // k + (1 if i < n % k else 0)
                out[m].update(TopicPartition(topic, p) for p in range(start, start + size))
        return out

    def _wake(self) -> None:
        self._data.set()
        self._data = asyncio.Event()

    async def _wait_for_data(self, timeout_s: float) -> None:
        data = self._data
        with suppress(TimeoutError):
            await asyncio.wait_for(data.wait(), timeout_s)


class MemoryProducer:
    def __init__(self, cluster: MemoryKafka, transactional_id: str | None) -> None:
        self._cluster = cluster
        self.transactional_id = transactional_id
        self.started = False
        self._txn: list[Delivery] | None = None
        self._txn_offsets: dict[TopicPartition, OffsetAndMetadata] = {}

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.started = False
        self._cluster.journal.append(("producer stopped",))

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(self._cluster.partitions[topic]))

    def create_batch(self) -> _Builder:
        return _Builder()

    async def send_batch(
        self, batch: Any, topic: str, *, partition: int
    ) -> asyncio.Future[object]:
        assert self.started, "producer not started"
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        delivery = Delivery(topic, partition, list(batch.records), future)
        if self._txn is not None:
            if topic in self._cluster.broken:
                future.set_exception(self._cluster.broken[topic])
            else:
                self._txn.append(delivery)
                future.set_result(None)
        else:
            self._cluster._deliver(delivery)
        return future

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        assert self.transactional_id is not None, "not a transactional producer"
        self._txn, self._txn_offsets = [], {}
        try:
            yield
        except BaseException:
            self._cluster.journal.append(("abort",))
            raise
        else:
            for d in self._txn:
                self._cluster._write(d)
            self._cluster._commit(self._txn_offsets)
            self._cluster.journal.append(("transaction committed",))
        finally:
            self._txn = None

    async def send_offsets_to_transaction(self, offsets: Offsets, group_id: str) -> None:
        assert self._txn is not None, "no transaction"
        self._txn_offsets.update(offsets)


class MemoryConsumer:
    """A group-less consumer: partitions assigned by hand."""

    def __init__(self, cluster: MemoryKafka, name: str) -> None:
        self._cluster = cluster
        self.name = name
        self.assigned: set[TopicPartition] = set()
        self.positions: dict[TopicPartition, int] = {}

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def assign(self, partitions: list[TopicPartition]) -> None:
        self.assigned = set(partitions)
        self.positions = {tp: 0 for tp in partitions}

    async def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        for tp in partitions or tuple(self.assigned):
            self.positions[tp] = 0

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        if partition not in self.assigned:
            raise IllegalStateError(f"{partition} is not assigned")
        self.positions[partition] = offset

    def highwater(self, partition: TopicPartition) -> int | None:
        return len(self._cluster.logs.get(partition, []))

    async def position(self, partition: TopicPartition) -> int:
        if partition not in self.assigned:
            raise IllegalStateError(f"{partition} is not assigned")
        return self.positions[partition]

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> Fetched:
        await asyncio.sleep(0)  # a fetch always yields to the event loop
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            await self._ready()
            fetched = self._fetch(partitions, max_records)
            remaining = deadline - time.monotonic()
            if fetched or remaining <= 0:
                return fetched
            await self._cluster._wait_for_data(remaining)

    async def _ready(self) -> None:
        pass

    def _fetch(self, partitions: tuple[TopicPartition, ...], max_records: int | None) -> Fetched:
        budget = max_records if max_records is not None else 1 << 62
        out: Fetched = {}
        wanted = set(partitions) if partitions else self.assigned
        for tp in sorted(self.assigned & wanted):
            log = self._cluster.logs.get(tp, [])
            start = self.positions[tp]
            recs = log[start:start + budget]
            if recs:
                out[tp] = recs
                self.positions[tp] = start + len(recs)
                budget -= len(recs)
            if budget <= 0:
                break
        return out


class MemoryGroupConsumer(MemoryConsumer):
    """A member of the cluster's one consumer group, with manual commits."""

    def __init__(self, cluster: MemoryKafka, name: str) -> None:
        super().__init__(cluster, name)
        self.topics: list[str] = []
        self.listener: Any = None

    def subscribe(self, topics: list[str], *, listener: Any) -> None:
        self.topics, self.listener = list(topics), listener
        self._cluster.members.append(self)
        self._cluster._needs_rebalance = True

    async def stop(self) -> None:
        """Leave the group; the others rebalance on their next fetch."""
        cluster = self._cluster
        if self in cluster.members:
            cluster.members.remove(self)
            self.assigned = set()
            cluster._needs_rebalance = bool(cluster.members)
            cluster.journal.append(("left", self.name))
            cluster._wake()

    async def commit(self, offsets: Offsets) -> None:
        if self not in self._cluster.members or not set(offsets) <= self.assigned:
            raise CommitFailedError()
        self._cluster._commit(offsets)

    async def committed(self, partition: TopicPartition) -> int | None:
        return self._cluster.committed.get(partition)

    async def _ready(self) -> None:
        cluster = self._cluster
        if cluster._needs_rebalance:
            await cluster.rebalance()
        await cluster._stable.wait()
