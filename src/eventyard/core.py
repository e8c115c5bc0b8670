"""The pure pipeline (decode, validate, route, shape): bytes in, outcome values out.

The runtime calls `admit` on the first hop (validate, learn the dedup key) and `process`
on the second (validate again, route, shape, encode). Both are total: any input yields a
value, never an exception, so one poison record can never stop a partition.
"""

from __future__ import annotations

from collections.abc import Mapping

from eventyard.contract.codec import DEFAULT_MAX_EVENT_BYTES, Peeked, decode, peek
from eventyard.policy.compiled import CompiledPolicy
from eventyard.routing.outcome import Admitted, DeadLetter, Routed
from eventyard.routing.router import route_event

__all__ = ["DEFAULT_MAX_EVENT_BYTES", "Peeked", "admit", "peek", "process"]


def admit(
    value: bytes | None, record_ts_ms: int, now_ms: int, max_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    aliases: Mapping[str, str] | None = None,
) -> Admitted | DeadLetter:
    """Decode and validate only: the first hop needs the eventId or a dead letter."""
    try:
        decoded = decode(value, record_ts_ms, now_ms, max_bytes, aliases=aliases)
    except Exception as exc:  # a bug must dead-letter one record, not stop the partition
        return DeadLetter("internal.error", f"router: {type(exc).__name__} while routing")
    if isinstance(decoded, DeadLetter):
        return decoded
    return Admitted(decoded.event.eventId)


def process(
    value: bytes | None,
    record_ts_ms: int,
    policy: CompiledPolicy,
    now_ms: int,
    max_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    parsed: Peeked | None = None,
) -> Routed | DeadLetter:
    """Decode, validate, route and shape one raw record (`parsed`: `peek(value)`, if the
    caller has it)."""
    try:
        decoded = decode(value, record_ts_ms, now_ms, max_bytes, parsed, policy.aliases)
        if isinstance(decoded, DeadLetter):
            return decoded
        return route_event(decoded.event, decoded.event_time_ms, record_ts_ms, policy, now_ms,
                           decoded.warnings, sent_as=decoded.sent_as)
    except Exception as exc:
        return DeadLetter("internal.error", f"router: {type(exc).__name__} while routing")

