"""The pure pipeline (DESIGN.md §2 steps 1, 2, 4, 5): bytes in, outcome values out.

PROVISIONAL STUB: the real contract/policy/routing is being written; the signatures below
are the stable interface the runtime uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from eventyard.routing.outcome import Admitted, DeadLetter, OutputRecord, Routed

if TYPE_CHECKING:
    from eventyard.policy.compiled import CompiledPolicy

DEFAULT_MAX_EVENT_BYTES = 65536


def admit(
    value: bytes | None, record_ts_ms: int, now_ms: int, max_bytes: int = DEFAULT_MAX_EVENT_BYTES
) -> Admitted | DeadLetter:
    """Decode and validate only: the first hop needs the eventId or a dead letter."""
    try:
        obj = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return DeadLetter("decode.invalid_json", "the record value is not valid JSON")
    if not isinstance(obj, dict) or not isinstance(obj.get("eventId"), str):
        return DeadLetter("contract.eventId.missing", "eventId: required")
    return Admitted(obj["eventId"])


def process(
    value: bytes | None,
    record_ts_ms: int,
    policy: CompiledPolicy,
    now_ms: int,
    max_bytes: int = DEFAULT_MAX_EVENT_BYTES,
) -> Routed | DeadLetter:
    """Decode, validate, route and shape one raw record. Never raises."""
    a = admit(value, record_ts_ms, now_ms, max_bytes)
    if isinstance(a, DeadLetter):
        return a
    obj = orjson.loads(value or b"")
    rec = OutputRecord("warehouse", "warehouse", a.event_id.encode(), orjson.dumps(obj))
    return Routed(a.event_id, str(obj.get("event")), record_ts_ms, "stub", (rec,))
