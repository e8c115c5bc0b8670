"""The routing policy file format (version 1), as pydantic models.

schemas/policy.v1.json is generated from PolicyFile. Structural rules live here; rules
that need the taxonomy or platform facts (canonical names, native names, class/PII
combinations) live in lint.py so each can report its own path and line.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from eventyard.signals.rules import parse_condition

_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def duration_ms(text: str) -> int:
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r}")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def _duration(v: str) -> str:
    if not _DURATION.fullmatch(v):
        raise ValueError("must be a duration such as 30m, 48h or 7d")
    if duration_ms(v) <= 0:
        raise ValueError("must be longer than zero")
    return v


Duration = Annotated[str, AfterValidator(_duration)]
DestinationName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    dedup_window: Duration = Field("48h", description="How long an eventId is remembered.")
    custom_events: Literal["reject", "warehouse"] = Field(
        "warehouse",
        description="Events outside the taxonomy: dead-letter them, or send them to "
        "warehouse destinations only.",
    )


class Destination(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    platform: (
        Literal[
            "meta", "google", "linkedin", "tiktok", "reddit", "microsoft", "x",
            "hubspot", "salesforce", "warehouse", "generic",
        ]
        | None
    ) = Field(None, description="Defaults to the destination's own name when that is a platform.")
    klass: Literal["ads", "crm", "warehouse"] = Field(alias="class")
    pii: Literal["sha256", "raw", "hmac", "drop"] = Field(
        description="ads: sha256 only; crm: raw|sha256|drop; warehouse: raw|hmac|drop."
    )
    max_age: Duration | None = Field(
        None, description="Older events are not sent (platform default when omitted)."
    )
    consent: Literal["required", "assumed"] = Field(
        "assumed",
        description="required: send only when consent.<class> is true; assumed: unless it is "
        "false. An explicit false always wins.",
    )
    events: Literal["all"] | dict[str, str] = Field(
        description="'all' (canonical names; ads never get protected events this way) or a "
        "map canonical -> native name. Unlisted events are not sent."
    )
    exclude: list[str] = Field(default_factory=list, description="With events: all only.")
    properties: Literal["all", "none"] | list[str] | None = Field(
        None, description="Which properties keys to forward (default: none for ads, all else; "
        "ads take none or an explicit list, never all)."
    )
    url_params: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list,
        description="Ads only: query parameters of pageUrl and referrer to keep, by name or "
        "shell pattern (utm_*). Ads get URLs without query string and fragment otherwise.",
    )
    enabled: bool = True


IdentityField = Literal["userId", "anonymousId", "externalId"]


def _condition(v: str) -> str:
    parse_condition(v)  # ValueError names what is accepted
    return v


class Signal(BaseModel):
    """A derived event fired from per-identity counts over a sliding window of event time
    (the `eventyard signals` processor evaluates it; signals/rules.py has the semantics)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    events: list[str] = Field(min_length=1, description="The events it counts.")
    when: Annotated[str, AfterValidator(_condition)] = Field(
        description="'>= N' (or '> N'): at least N counted events in the window; '= 0': an "
        "identity seen before whose window closes without one."
    )
    within: Duration = Field(description="The sliding window over event time, e.g. 7d.")
    per: list[IdentityField] = Field(
        default_factory=lambda: list[IdentityField](["userId", "anonymousId"]),
        description="Identity it counts per: the first of these an event carries; a prefix "
        "of userId, anonymousId, externalId.",
    )
    fire: Literal["once_per_window", "every_crossing"] = Field(
        "once_per_window",
        description="once_per_window: at most once per window while the condition holds; "
        "every_crossing: each time the count reaches the threshold from below.",
    )
    grace: Duration = Field(
        "1m", description="How far past a window's end late events may still arrive: '= 0' "
        "rules wait this long after the deadline before firing."
    )
    send_to: dict[str, str] | None = Field(
        None, description="Destination -> native name (default: every CRM destination, under "
        "the signal's name or its snake_case form); warehouse destinations always get it.",
    )


class PolicyFile(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        title="eventyard routing policy v1",
        json_schema_extra={"$id": "https://eventyard.dev/schemas/policy.v1.json"},
    )

    version: Literal[1]
    defaults: Defaults = Field(default_factory=Defaults)
    aliases: dict[str, str] = Field(
        default_factory=dict,
        description="Event names producers send -> the canonical event they mean, applied "
        "before routing (e.g. signup_completed: SignUp).",
    )
    destinations: dict[DestinationName, Destination] = Field(min_length=1)
    signals: dict[str, Signal] = Field(
        default_factory=dict, description="Derived events: signal name -> rule."
    )
