"""The trace a dropped duplicate leaves: one small record on `eventyard.duplicates`.

Value: the eventId, when the copy was dropped, and where the copy sat on raw (topic,
partition, offset, record timestamp). No payload, no producer key, no header: nothing of
the event but its id, so the topic holds no PII. It is written to the dedup partition of
the eventId (the number of the keyed partition it hashes to), so `eventyard trace` reads
one partition; the topic is compacted by eventId and time-retained
(EVENTYARD_DUPLICATES_RETENTION_MS), so it stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from eventyard.contract.headers import (
    H_SOURCE_OFFSET,
    H_SOURCE_PARTITION,
    H_SOURCE_TIMESTAMP,
    H_SOURCE_TOPIC,
)

_COORDS = {H_SOURCE_TOPIC: 0, H_SOURCE_PARTITION: 1, H_SOURCE_OFFSET: 2,
           H_SOURCE_TIMESTAMP: 3}


def encode(event_id: bytes, dropped_ms: int, rec: Any, raw: bool) -> bytes:
    """The value for a copy dropped in `rec` (a raw record on the direct path, else a keyed
    record carrying its raw coordinates in headers). Spliced bytes, not a dict to encode:
    it runs once per duplicate on the hot path."""
    coords = [b"", b"", b"", b""]
    if not raw:
        for name, value in rec.headers:
            i = _COORDS.get(name)
            if i is not None:
                coords[i] = value
    if not coords[0]:  # on raw, or a keyed record not written by the worker: its own place
        coords = [rec.topic.encode(), str(rec.partition).encode(), str(rec.offset).encode(),
                  str(rec.timestamp).encode()]
    topic, *numbers = coords
    partition, offset, timestamp = (n if n.isdigit() else b"null" for n in numbers)
    return b"".join((
        b'{"eventId":', orjson.dumps(event_id.decode(errors="replace")),
        b',"droppedAt":', str(dropped_ms).encode(), b',"topic":', orjson.dumps(
            topic.decode(errors="replace")) if topic else b"null",
        b',"partition":', partition, b',"offset":', offset, b',"timestamp":', timestamp, b"}",
    ))


@dataclass(frozen=True, slots=True)
class DuplicateRecord:
    event_id: str
    dropped_ms: int
    topic: str | None
    partition: int | None
    offset: int | None
    timestamp_ms: int | None


def decode(value: bytes | None) -> DuplicateRecord | None:
    try:
        doc = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("eventId"), str):
        return None

    def num(name: str) -> int | None:
        v = doc.get(name)
        return v if isinstance(v, int) else None

    topic = doc.get("topic")
    return DuplicateRecord(doc["eventId"], num("droppedAt") or 0,
                           topic if isinstance(topic, str) else None,
                           num("partition"), num("offset"), num("timestamp"))
