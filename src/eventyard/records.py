"""Output record schema v1 (README, "output records") as pydantic models.

The hot path builds plain dicts and encodes them with orjson (a model instance per record
would cost more than the rest of routing); these models are the documented contract, the
source of schemas/routed.v1.json, and tests validate every record the router emits against
them. A field is never renamed or retyped within a version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

SCHEMA_ID = "eventyard.routed/1"


def record_head(destination: str, klass: str, name: str) -> bytes:
    """The opening of an output record, up to and including its native name; orjson
    output of a dict is b"{...}", so dropping the "}" leaves an exact prefix. Encoded at
    policy load for every route (Route.head); per record only for custom events."""
    return orjson.dumps({"destination": destination, "class": klass, "name": name})[:-1]


def routed_to(
    destination: str, sent: Iterable[tuple[str, str]], skipped: Mapping[str, str]
) -> bytes:
    """A warehouse record's `,"routedTo":{...}`: where else the event went (destination,
    native name) and why not. Policy-shaped, so encoded once per routing decision."""
    return b',"routedTo":' + orjson.dumps({
        **{d: {"status": "sent", "name": name} for d, name in sent if d != destination},
        **{d: {"status": "skipped", "reason": why} for d, why in skipped.items()},
    })


class Context(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pageUrl: str | None = None
    referrer: str | None = None
    ip: str | None = None
    userAgent: str | None = None
    clickIds: dict[str, str] | None = None


class RouteStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["sent", "skipped"]
    name: str | None = Field(None, description="Native name, when sent.")
    reason: str | None = Field(
        None, description="Why not, when skipped: not_in_policy, excluded, no_consent, too_old, "
        "custom_event, no_match_keys.",
    )


class FieldWarning(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="The raw-event field that was corrected or dropped.")
    code: str = Field(description="A code from the closed list in docs/reason-codes.md.")


class RoutedRecord(BaseModel):
    """One record on eventyard.ads, eventyard.crm or eventyard.warehouse."""

    model_config = ConfigDict(
        extra="forbid",
        title="eventyard routed record v1",
        json_schema_extra={"$id": "https://eventyard.dev/schemas/routed.v1.json"},
    )

    schema_: Literal["eventyard.routed/1"] = Field(alias="schema")
    destination: str = Field(description="Destination name from the policy, e.g. meta.")
    class_: Literal["ads", "crm", "warehouse"] = Field(alias="class")
    name: str = Field(description="The destination's native event name.")
    event: str = Field(description="The canonical (or custom) event name.")
    sentAs: str | None = Field(
        None, description="The name the producer sent, when the policy's aliases mapped it "
        "to `event`; absent otherwise.",
    )
    eventId: str
    timestamp: str = Field(description="When it happened: UTC, RFC 3339, milliseconds.")
    receivedAt: str = Field(description="Kafka timestamp of the raw record: UTC, RFC 3339.")
    source: str | None = None
    policyVersion: str = Field(description="Content hash of the policy that routed it.")
    user: dict[str, str] = Field(
        description="Identity and PII per the destination's pii mode; on ads, SHA-256 hex "
        "of the platform's normalised value, keyed by raw-event field name."
    )
    context: Context
    value: float | None = None
    currency: str | None = None
    properties: dict[str, Any] | None = None
    routedTo: dict[str, RouteStatus] | None = Field(
        None, description="Warehouse records only: every destination and what it got."
    )
    warnings: list[FieldWarning] | None = Field(
        None, description="Warehouse records only, when any: raw-event fields the router "
        "corrected or dropped to route the event (docs/reason-codes.md).",
    )
