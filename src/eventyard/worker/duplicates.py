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


def encode(event_id: bytes, dropped_ms: int, source: list[tuple[str, bytes]]) -> bytes:
    """`source`: the copy's eventyard-source-* headers (hop A's or its own)."""
    coords = {name.removeprefix("eventyard-source-"): value for name, value in source}
    doc: dict[str, Any] = {"eventId": event_id.decode(errors="replace"), "droppedAt": dropped_ms}
    topic = coords.get("topic")
    if topic is not None:
        doc["topic"] = topic.decode(errors="replace")
    for field in ("partition", "offset", "timestamp"):
        value = coords.get(field)
        if value is not None and value.isdigit():
            doc[field] = int(value)
    return orjson.dumps(doc)


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
