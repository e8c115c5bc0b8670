"""What the pure core hands to the runtime: values, never exceptions.

Every consumed record ends as exactly one of these, so the
runtime can count outcomes and the counters add up.

`OutputRecord` and `Routed` are named tuples: the router builds several of them per event,
and a tuple is several times cheaper to construct than a frozen dataclass. Both are
immutable and read by attribute like any record type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, NamedTuple

from eventyard.contract.deadletter import DeadLetter
from eventyard.contract.normalise import FieldWarning

# DeadLetter is the contract's (contract/deadletter.py); an outcome of the core like the rest.
__all__ = ["Admitted", "DeadLetter", "DestinationClass", "OutputRecord", "Routed"]

DestinationClass = Literal["ads", "crm", "warehouse"]

_NO_SKIPS: Mapping[str, str] = MappingProxyType({})


class OutputRecord(NamedTuple):
    """One encoded record for one destination, ready to publish."""

    klass: DestinationClass
    destination: str
    key: bytes
    value: bytes


@dataclass(frozen=True, slots=True)
class Admitted:
    """A record that passed decode + validate; the dedup key is all the first hop needs."""

    event_id: str


class Routed(NamedTuple):
    """A valid event and everything it became under one policy version."""

    event_id: str
    event: str
    event_time_ms: int
    policy_version: str
    records: tuple[OutputRecord, ...]
    # Destination -> skip reason; read-only (the router shares one mapping between the
    # events of the same routing decision).
    skipped: Mapping[str, str] = _NO_SKIPS
    sent_as: str | None = None  # the producer's name for `event`, when a policy alias applied
    # Fields corrected or dropped to route it (reasons.WARNINGS), on its warehouse records.
    warnings: tuple[FieldWarning, ...] = ()
