"""What a firing emits: a derived raw event with a deterministic eventId.

The eventId is a hash of (rule, identity, window): a replay of the same input from the same
state fires the same ids, and the router's dedup drops the repeats, so a processor crash
between emitting a signal and recording its state costs nothing downstream.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import blake2b

import orjson

from eventyard.routing.router import rfc3339_ms
from eventyard.signals.rules import SignalRule

EVENT_ID_PREFIX = "sig-"


@dataclass(frozen=True, slots=True)
class Fired:
    rule: str
    field: str  # identity field (userId, anonymousId, externalId)
    identity: str
    time_ms: int  # event time of the derived event: the window's end
    count: int  # counted events in the window (at least the threshold; 0 for `= 0`)
    window_start_ms: int  # the window is (start, end]


def signal_event_id(rule: str, field: str, identity: str, window_end_ms: int) -> str:
    material = "\x1f".join((rule, field, identity, str(window_end_ms))).encode()
    return EVENT_ID_PREFIX + blake2b(material, digest_size=16).hexdigest()


def derived_event(rule: SignalRule, fired: Fired) -> tuple[bytes, bytes]:
    """(record key, raw event JSON). Keyed by its eventId, as producers are asked to key
    raw records, so the router takes its direct path."""
    event_id = signal_event_id(fired.rule, fired.field, fired.identity, fired.time_ms)
    value = orjson.dumps({
        "event": rule.name,
        "eventId": event_id,
        fired.field: fired.identity,
        "timestamp": rfc3339_ms(fired.time_ms),
        "source": "server",
        "properties": {
            "rule": rule.name,
            "count": fired.count,
            "condition": rule.condition,
            "window": rule.within,
            "windowStart": rfc3339_ms(fired.window_start_ms),
            "windowEnd": rfc3339_ms(fired.time_ms),
            "counts": sorted(rule.events),
        },
    })
    return event_id.encode(), value
