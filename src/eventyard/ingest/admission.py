"""The edge's cheap checks, per event: JSON object, size, eventId, identity.

They reuse the contract's own functions, as the worker's first hop does: `peek` (size,
JSON object, well-formed eventId) and, for a record that fails a check, `decode`, which
names the exact reason from the closed list (docs/reason-codes.md). So an event refused
here carries the code the worker would have given it, and the worker, the full validator,
still dead-letters whatever passes here but breaks a rule only it checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from eventyard.contract.codec import decode, peek
from eventyard.contract.deadletter import DeadLetter

# The contract's identity rule (contract/model.py `cross_field`): one of these, non-empty.
# tests/unit/test_ingest_admission.py holds this list equal to the model's.
IDENTITY_FIELDS = ("userId", "anonymousId", "externalId", "email")


@dataclass(frozen=True, slots=True)
class Admitted:
    event_id: str


def admit(value: bytes, now_ms: int, max_bytes: int) -> Admitted | DeadLetter:
    peeked = peek(value, max_bytes)
    if peeked is not None and any(peeked.obj.get(f) for f in IDENTITY_FIELDS):
        return Admitted(peeked.event_id)
    # Failed a cheap check: the contract's full decode names the reason (it cannot accept
    # what failed these, as each check is one of its rules).
    result = decode(value, now_ms, now_ms, max_bytes, parsed=peeked)
    if isinstance(result, DeadLetter):
        return result
    return Admitted(result.event.eventId)
