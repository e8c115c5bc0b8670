"""A record as the ops tools see it (role, coordinates, headers, parsed JSON), and the
filters of `tap`, `dlq show` and `dlq redrive`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from eventyard.contract.headers import H_DESTINATION, H_REASON
from eventyard.ops.scan import Record


@dataclass(frozen=True, slots=True)
class View:
    role: str
    rec: Record
    headers: dict[str, bytes]
    doc: dict[str, Any] | None  # the value, when it is a JSON object

    def text(self, field_name: str) -> str | None:
        value = self.doc.get(field_name) if self.doc is not None else None
        return value if isinstance(value, str) else None

    @property
    def event_id(self) -> str | None:
        return self.text("eventId")

    @property
    def event(self) -> str | None:
        return self.text("event")

    @property
    def destination(self) -> str | None:
        header = self.headers.get(H_DESTINATION)
        return header.decode(errors="replace") if header is not None else self.text("destination")

    @property
    def klass(self) -> str | None:
        return self.text("class")

    @property
    def reason(self) -> str | None:
        header = self.headers.get(H_REASON)
        return header.decode(errors="replace") if header is not None else None

    def skip_reasons(self) -> set[str]:
        routed = self.doc.get("routedTo") if self.doc is not None else None
        if not isinstance(routed, dict):
            return set()
        return {str(r["reason"]) for r in routed.values()
                if isinstance(r, dict) and "reason" in r}


def view_of(role: str, rec: Record) -> View:
    doc: Any = None
    if rec.value:
        try:
            doc = orjson.loads(rec.value)
        except orjson.JSONDecodeError:
            doc = None
    return View(role, rec, dict(rec.headers), doc if isinstance(doc, dict) else None)


def _set(values: Iterable[str] | None) -> frozenset[str]:
    return frozenset(values or ())


@dataclass(frozen=True, slots=True)
class Filter:
    """Every given criterion must hold; several values of one criterion are alternatives.
    `reasons` matches a dead letter's reason or a warehouse record's skip reasons."""

    destinations: frozenset[str] = field(default_factory=frozenset)
    classes: frozenset[str] = field(default_factory=frozenset)
    events: frozenset[str] = field(default_factory=frozenset)
    event_ids: frozenset[str] = field(default_factory=frozenset)
    reasons: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, *, destination: Iterable[str] | None = None, klass: Iterable[str] | None = None,
           event: Iterable[str] | None = None, event_id: Iterable[str] | None = None,
           reason: Iterable[str] | None = None) -> Filter:
        return cls(_set(destination), _set(klass), _set(event), _set(event_id), _set(reason))

    def matches(self, v: View) -> bool:
        if self.event_ids and v.event_id not in self.event_ids:
            return False
        if self.events and v.event not in self.events:
            return False
        if self.destinations and v.destination not in self.destinations:
            return False
        if self.classes and (v.klass or v.role) not in self.classes:
            return False
        return not self.reasons or v.reason in self.reasons or bool(
            self.reasons & v.skip_reasons())
