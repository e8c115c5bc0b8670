"""The worker's per-record steps: what to send and what to count. No I/O.

`admit_raw` (raw topic): admit the record and re-key it by eventId onto the keyed topic.
Copies of one eventId may arrive on different raw partitions under different keys (a
browser copy keyed by session, a server copy keyed by user); on the keyed topic they share
one partition, owned by exactly one worker, so dedup is a local lookup (the Kafka Streams
repartition pattern).

`route_keyed` (keyed topic): dedup on eventId, then the full pure core with the current
policy.

The direct path: copies of an eventId meet in dedup partition p = partition_for(eventId)
(the keyed partition its re-keyed copies go to). When this worker holds dedup partition p
(it owns keyed partition p and has restored it), `admit_raw` routes the raw record itself,
exactly as `route_keyed` would, whichever raw partition the record sits on and whatever
its key: every copy of that eventId still meets in dedup partition p, whichever path it
took, and the event skips a produce, a fetch and a second decode. The changelog entry
names the raw partition and offset the record was routed from, so a restore counts it
only once that raw offset is committed (worker/changelog.py). Whether it applies is
decided per record (`direct_partition`), so it is correct under any partition assignment.
Producers are asked to key raw records by eventId: such a record sits on raw partition p,
and the group's range assignor (kafka/clients.py) gives raw p and keyed p to the same
worker, so with any number of workers it is the common case; a record keyed otherwise
takes it when its dedup partition happens to be held here (always, with one worker).

Both steps fill a `Batch`: the records to send and, per event, appends of its outcomes,
which are counted once per batch and become one metric update per label set.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from typing import TypeAlias

from aiokafka.structs import ConsumerRecord

from eventyard import core
from eventyard.contract.deadletter import DeadLetter, dead_letter_headers
from eventyard.contract.deadletter import source_headers as _source_headers
from eventyard.contract.headers import (
    H_DESTINATION,
    H_REDRIVE_COUNT,
    H_SOURCE_KEY,
    H_SOURCE_TOPIC,
    SOURCE_HEADERS,
    Headers,
)
from eventyard.contract.normalise import FieldWarning
from eventyard.kafka.partitioning import partition_for
from eventyard.kafka.producer import Send
from eventyard.policy.compiled import CompiledPolicy
from eventyard.routing.outcome import OutputRecord
from eventyard.settings import Settings
from eventyard.worker import duplicates
from eventyard.worker.dedup import DedupStore, fingerprint

Record: TypeAlias = ConsumerRecord[bytes, bytes]


@dataclass(slots=True)
class Batch:
    """Everything one batch produces, before any I/O.

    Per event, outcomes are only appended to lists (`outputs`, `skips`, `warned`): the
    tallies by label (`routed`, `skipped`, `warnings`) are counted from them in C once per
    batch, when the metrics are recorded, instead of one Counter update per record."""

    now_ms: int
    sends: list[Send] = field(default_factory=list)
    consumed: int = 0
    duplicates: int = 0
    unique: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    outputs: list[OutputRecord] = field(default_factory=list)
    # Each routed event's {destination: skip reason}. Routing shares one mapping between
    # the events of one routing plan, so they are counted by identity, per batch.
    skips: list[Mapping[str, str]] = field(default_factory=list)
    warned: list[FieldWarning] = field(default_factory=list)
    # Event time (ms) of each event published to a class, by class: event lag is observed
    # once acknowledged.
    event_times: dict[str, list[int]] = field(
        default_factory=lambda: {"ads": [], "crm": [], "warehouse": []})
    # (dedup partition, eventId, offset, raw partition of the offset or None for keyed)
    # first seen in this batch: changelog entries, which count on restore only once this
    # batch is committed.
    first_seen: list[tuple[int, bytes, int, int | None]] = field(default_factory=list)
    records_in: int = 0
    rekeyed: int = 0

    @property
    def routed(self) -> Counter[tuple[str, str]]:
        """Records published, by (destination, class)."""
        return Counter(map(_DESTINATION_CLASS, self.outputs))

    @property
    def skipped(self) -> Counter[tuple[str, str]]:
        """Events not sent, by (destination, reason)."""
        tally: Counter[tuple[str, str]] = Counter()
        shared = {id(m): m for m in self.skips}
        for key, n in Counter(map(id, self.skips)).items():
            for pair in shared[key].items():
                tally[pair] += n
        return tally

    @property
    def warnings(self) -> Counter[str]:
        """Fields corrected or dropped, by warning code."""
        return Counter(map(_CODE, self.warned))


_DESTINATION_CLASS: Callable[[OutputRecord], tuple[str, str]] = attrgetter("destination", "klass")
_CODE: Callable[[FieldWarning], str] = attrgetter("code")


@dataclass(frozen=True, slots=True)
class Direct:
    """Where the direct path applies: raw partitions whose dedup partition (same number)
    this worker holds, and the keyed topic's partition count."""

    partitions: frozenset[int]
    keyed_partitions: int


@lru_cache(maxsize=256)
def destination_headers(destination: str) -> Headers:
    # One list per destination, shared by its records: headers are only read once encoded.
    return [(H_DESTINATION, destination.encode())]


def source_headers(rec: Record) -> Headers:
    source = _source_headers(rec.topic, rec.partition, rec.offset, rec.timestamp)
    if rec.headers:  # raw records rarely carry headers; redriven ones carry their count
        source += [h for h in rec.headers if h[0] == H_REDRIVE_COUNT]
    return source


def dead_letter(
    settings: Settings, dl: DeadLetter, value: bytes | None, key: bytes | None, source: Headers
) -> Send:
    """The DLQ record for `dl` (layout: contract/deadletter.py)."""
    return Send(settings.topic_dlq, value, key, dead_letter_headers(dl, source))


def direct_partition(event_key: bytes, direct: Direct) -> int | None:
    """The dedup partition of `event_key` when this worker holds it: a raw record of that
    eventId is then routed from the raw topic without the keyed hop. None otherwise."""
    partition = partition_for(event_key, direct.keyed_partitions)
    return partition if partition in direct.partitions else None


def admit_raw(
    settings: Settings, rec: Record, policy: CompiledPolicy, store: DedupStore,
    direct: Direct, batch: Batch,
) -> None:
    """A raw-topic record: dead-letter it, route it on the direct path, or re-key it onto
    the keyed topic."""
    batch.consumed += 1
    # Validation happens once, when the event is routed; here only the dedup key is
    # needed. A record with no usable eventId is validated fully now, for the exact
    # dead-letter reason.
    peeked = core.peek(rec.value, settings.max_event_bytes)
    if peeked is None:
        result = core.admit(rec.value, rec.timestamp, batch.now_ms, settings.max_event_bytes,
                            policy.aliases)
        if isinstance(result, DeadLetter):
            batch.dead_letters[result.reason] += 1
            batch.sends.append(
                dead_letter(settings, result, rec.value, rec.key, source_headers(rec))
            )
            return
        event_id = result.event_id
    else:
        event_id = peeked.event_id
    event_key = event_id.encode()
    home = direct_partition(event_key, direct)
    if home is not None:
        _dedup_and_route(settings, rec, home, event_key, policy, store, batch, raw=True,
                         parsed=peeked)
        return
    batch.rekeyed += 1
    source = source_headers(rec)
    if rec.key is not None:
        source.append((H_SOURCE_KEY, rec.key))
    batch.sends.append(
        Send(settings.topic_keyed, rec.value, event_key, source, timestamp_ms=rec.timestamp)
    )


def carried_source(rec: Record) -> tuple[Headers, bytes | None]:
    """Source coordinates and key carried by a keyed record (written by `admit_raw`); this
    record's own if absent."""
    headers = dict(rec.headers)
    if H_SOURCE_TOPIC not in headers:
        return source_headers(rec), rec.key
    return [(h, headers[h]) for h in SOURCE_HEADERS if h in headers], headers.get(H_SOURCE_KEY)


def route_keyed(
    settings: Settings, rec: Record, policy: CompiledPolicy, store: DedupStore, batch: Batch
) -> None:
    """A keyed-topic record: dedup on its eventId (the key), then route it."""
    _dedup_and_route(settings, rec, rec.partition, rec.key, policy, store, batch, raw=False)


def _dedup_and_route(
    settings: Settings, rec: Record, partition: int, event_key: bytes | None,
    policy: CompiledPolicy, store: DedupStore, batch: Batch, *, raw: bool,
    parsed: core.Peeked | None = None,
) -> None:
    """Dedup in dedup partition `partition`, then the full core. `raw`: rec is a raw
    record on the direct path, not a keyed record written by `admit_raw`."""
    fp = fingerprint(event_key) if event_key is not None else None
    if fp is not None and store.seen(partition, fp):
        _duplicate(settings, rec, partition, event_key, batch, raw)
        return
    result = core.process(rec.value, rec.timestamp, policy, batch.now_ms,
                          settings.max_event_bytes, parsed)
    if isinstance(result, DeadLetter):
        batch.dead_letters[result.reason] += 1
        source, key = (source_headers(rec), rec.key) if raw else carried_source(rec)
        batch.sends.append(dead_letter(settings, result, rec.value, key, source))
        return
    if event_key is None:  # not written by admit_raw; key by what was decoded
        event_key = result.event_id.encode()
        fp = fingerprint(event_key)
        if store.seen(partition, fp):
            _duplicate(settings, rec, partition, event_key, batch, raw)
            return
    assert fp is not None  # set with event_key, above or at the top
    # Remembered now so a second copy later in this same batch is caught too.
    store.add(partition, fp, batch.now_ms)
    batch.first_seen.append((partition, event_key, rec.offset, rec.partition if raw else None))
    batch.unique += 1
    topics = settings.output_topics
    records = result.records
    batch.sends.extend([
        Send(topics[out.klass], out.value, out.key, destination_headers(out.destination))
        for out in records
    ])
    batch.outputs.extend(records)
    event_ms = result.event_time_ms
    event_times = batch.event_times
    for klass in {out.klass for out in records}:
        event_times[klass].append(event_ms)
    if result.skipped:
        batch.skips.append(result.skipped)
    if result.warnings:
        batch.warned.extend(result.warnings)


def _duplicate(settings: Settings, rec: Record, partition: int, event_key: bytes | None,
               batch: Batch, raw: bool) -> None:
    """Count a dropped copy and leave its trace (worker/duplicates.py): one small record in
    the dedup partition, sent with the batch."""
    batch.duplicates += 1
    if event_key is None:
        return
    batch.sends.append(Send(settings.topic_duplicates, duplicates.encode(
        event_key, batch.now_ms, rec, raw), event_key, [], partition=partition))


def consumed(send: Send, partition: int, offset: int) -> Record:
    """`send` as a consumer reads it back from (partition, offset)."""
    key, value = send.key, send.value
    return ConsumerRecord(send.topic, partition, offset, send.timestamp_ms or 0, 0, key, value,
                          None, len(key or b""), len(value or b""), send.headers)


def simulate(
    settings: Settings, rec: Record, policy: CompiledPolicy, store: DedupStore,
    direct: Direct, batch: Batch,
) -> None:
    """Everything the worker does with raw record `rec`, with no broker: `admit_raw`, then
    `route_keyed` on its keyed copy as if that were consumed at once (from the partition
    its key maps to). Fills `batch` as the two steps do; for computing expected outputs
    (bench/), not used by the worker itself."""
    first = len(batch.sends)
    admit_raw(settings, rec, policy, store, direct, batch)
    for send in batch.sends[first:]:
        if send.topic == settings.topic_keyed and send.key is not None:
            partition = partition_for(send.key, direct.keyed_partitions)
            route_keyed(settings, consumed(send, partition, rec.offset), policy, store, batch)
