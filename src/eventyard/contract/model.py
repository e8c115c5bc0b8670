"""The raw event contract v1 (DESIGN.md §3) as a pydantic v2 model.

The model is the single source of truth: schemas/raw-event.v1.json is generated from it
and a test fails when the checked-in file drifts. Validation is strict (no "123" -> 123
coercion) because producers in any language must see the same rules; the corrections the
router makes before validating (trimming, case, a numeric-string value) are explicit, in
normalise.py, and reported as warnings where they change the event.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal

import phonenumbers
import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    InstanceOf,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from eventyard.taxonomy import TAXONOMY

CLICK_ID_KEYS = frozenset(
    {"fbc", "fbp", "gclid", "gbraid", "wbraid", "li_fat_id", "ttclid", "rdt_cid", "msclkid",
     "twclid"}
)
# Accepted on input: Meta's URL parameter, which the router turns into `fbc` (codec.py).
CLICK_ID_INPUT_KEYS = CLICK_ID_KEYS | {"fbclid"}
MAX_PROPERTIES_DEPTH = 8
# ISO 4217 from pycountry's maintained list, less XXX ("no currency") and XTS (testing),
# which no money event can be in.
CURRENCY_CODES = frozenset(c.alpha_3 for c in pycountry.currencies) - {"XXX", "XTS"}
# Integer timestamps below this are epoch seconds, at or above it epoch milliseconds:
# 10^11 seconds is the year 5138, 10^11 milliseconds is March 1973.
EPOCH_SECONDS_BELOW = 10**11
# phonenumbers' region list is the maintained ISO 3166-1 alpha-2 set we need (plus "001",
# which the two-letter pattern excludes), so no hand-kept country table.
COUNTRY_CODES = frozenset(r for r in phonenumbers.SUPPORTED_REGIONS if len(r) == 2)

# Field rules run inside pydantic-core, as `pattern=` (Rust's regex crate) and bounds, so
# a valid event costs no Python call per field. Rust's \s lacks the four information
# separators U+001C..U+001F that Python's \s includes (the schema's patterns, as Python
# reads them in the agreement tests); the runtime patterns spell them out so both mean
# the same. tests/unit/test_contract_rules.py checks each pair.
_WS = r"\s\x1c-\x1f"
_EMAIL_SCHEMA = r"^[^@\s]+@[^@\s]+\.[^@\s.][^@\s]*$"
_EMAIL = rf"^[^@{_WS}]+@[^@{_WS}]+\.[^@{_WS}.][^@{_WS}]*$"
_PHONE = r"^[0-9 +\-().]*[0-9][0-9 +\-().]*$"
# The scheme's letters in either case, as in the schema; no case-insensitive flag, which
# would also take U+017F (long s) for "s".
_URL_SCHEMA = r"^[hH][tT][tT][pP][sS]?://[^\s/?#]+[^\s]*$"
_URL = rf"^[hH][tT][tT][pP][sS]?://[^{_WS}/?#]+[^{_WS}]*$"
RFC3339 = (
    # [0-9], not \d: \d takes any Unicode digit, which datetime does not.
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"^{_OCTET}(\.{_OCTET}){{3}}$"


def _one_of(codes: frozenset[str]) -> str:
    return "^(?:" + "|".join(sorted(codes)) + ")$"


# A failed rule as our rule name and message, by field and pydantic-core error type: what
# DLQ details say (never pydantic's own message, which would spell out a 250-code
# pattern) and what codec.py turns into a reason or warning code.
RULES: dict[tuple[str, str], tuple[str, str]] = {
    ("email", "string_pattern_mismatch"):
        ("invalid", "must look like an address (one @, a dot in the domain)"),
    ("phone", "string_pattern_mismatch"): ("invalid", "digits, spaces and + - ( ) . only"),
    ("country", "string_pattern_mismatch"): ("invalid", "must be an ISO 3166-1 alpha-2 code"),
    ("pageUrl", "string_pattern_mismatch"): ("invalid", "must be an absolute http(s) URL"),
    ("referrer", "string_pattern_mismatch"): ("invalid", "must be an absolute http(s) URL"),
    ("ip", "string_pattern_mismatch"): ("invalid", "must be an IPv4 or IPv6 address"),
    ("currency", "string_pattern_mismatch"): ("invalid", "must be an ISO 4217 currency code"),
    ("timestamp", "string_pattern_mismatch"):
        ("format", "must be RFC 3339 with an offset, or epoch seconds or milliseconds"),
    ("timestamp", "greater_than_equal"): ("format", "epoch time must not be negative"),
    ("properties", "is_instance_of"): ("type", "Input should be a valid dictionary"),
}


def _invalid(rule: str, message: str) -> PydanticCustomError:
    # The error type carries our rule name; codec.py maps it to a reason code.
    return PydanticCustomError(rule, message)


def _ipv6(v: str) -> str:
    """The addresses the IPv4 pattern does not take. A zone (`fe80::1%eth0`) is local to
    the sending host, and the schema's ipv6 format refuses it too."""
    try:
        address = ipaddress.IPv6Address(v)
    except ValueError:
        raise _invalid("invalid", "must be an IPv4 or IPv6 address") from None
    if address.scope_id:
        raise _invalid("invalid", "must be an IPv4 or IPv6 address")
    return v


def parse_rfc3339(v: str) -> datetime:
    """RFC 3339 allows a lower-case `z`, which datetime.fromisoformat does not."""
    return datetime.fromisoformat(v[:-1] + "Z" if v.endswith("z") else v)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@lru_cache(maxsize=1024)
def rfc3339_ms(v: str) -> int | None:
    """Epoch milliseconds of an RFC 3339 time (one that matches RFC3339), or None when
    it is not a real date and time the router can represent. Cached: the validator and
    the codec's event time both ask, for the same string, one after the other."""
    try:
        when = parse_rfc3339(v)
        # .timestamp() too: a valid-looking time can fall outside what the router can
        # represent ("0001-01-01T00:00:00+01:00" is before year 1 in UTC).
        datetime.fromtimestamp(when.timestamp(), UTC)
    except (ValueError, OverflowError, OSError):
        return None
    # Integer arithmetic: float seconds * 1000 can land a millisecond early (…:00.060 -> 59).
    return (when - _EPOCH) // _MS


def _real_time(v: str) -> str:
    if rfc3339_ms(v) is None:
        raise _invalid("format", "is not a real date and time")
    return v


def properties_too_deep(value: Any) -> bool:
    """True when `value` (properties) nests deeper than MAX_PROPERTIES_DEPTH containers."""
    return not _depth(value, MAX_PROPERTIES_DEPTH)


def _depth(value: Any, limit: int) -> bool:
    """True when `value` nests no deeper than `limit` containers. Recursion stops at
    `limit`, so hostile input cannot exhaust the stack."""
    if limit <= 0:
        return False
    children = value.values() if isinstance(value, dict) else value
    for child in children:
        if isinstance(child, dict | list) and not _depth(child, limit - 1):
            return False
    return True


IDENTITY = ("userId", "anonymousId", "externalId", "email")


def cross_field(event: RawEvent) -> str | None:
    """The rule across fields the event breaks, as a pydantic-like error type, or None:
    `identity_missing` (none of IDENTITY), `currency_missing` (a value without one)."""
    if not (event.userId or event.anonymousId or event.externalId or event.email):
        return "identity_missing"
    if event.value is not None and event.currency is None:
        return "currency_missing"
    return None


def _s(max_len: int, min_len: int = 0) -> Any:
    return Field(default=None, min_length=min_len, max_length=max_len)


# Schema-only statements: what the schema says in JSON Schema's terms where the runtime
# states the same rule its own way (trimming first, codec.py; Rust patterns; the checks
# after validation, forgiving.py), so producers' tools and the property tests
# (tests/unit/test_schema_agreement.py) see the same contract.
_NOT_BLANK = {"pattern": r"\S"}
# Money events: taxonomy entries that require a value (and so a currency).
_MONEY = sorted(n for n, e in TAXONOMY.items() if "value" in e.requires)
_CROSS_FIELD_SCHEMA: dict[str, Any] = {
    "anyOf": [{"required": [f], "properties": {f: {"type": "string"}}} for f in IDENTITY],
    "allOf": [
        {
            "if": {"required": ["value"], "properties": {"value": {"type": "number"}}},
            "then": {"required": ["currency"], "properties": {"currency": {"type": "string"}}},
        },
        {
            "if": {"properties": {"event": {"enum": _MONEY}}},
            "then": {
                "required": ["value", "currency"],
                "properties": {"value": {"type": "number"}, "currency": {"type": "string"}},
            },
        },
    ],
}


def _in_schema(**keys: Any) -> Callable[[dict[str, Any]], None]:
    """json_schema_extra that sets these keys, or removes those given as None."""

    def edit(schema: dict[str, Any]) -> None:
        for key, value in keys.items():
            if value is None:
                schema.pop(key, None)
            else:
                schema[key] = value

    return edit


Id = Annotated[StrictStr, Field(min_length=1, max_length=255, json_schema_extra=_NOT_BLANK)]
Text255 = Annotated[StrictStr, Field(max_length=255)]
Url = Annotated[
    StrictStr, Field(max_length=2048, pattern=_URL, json_schema_extra={"pattern": _URL_SCHEMA})
]


class Consent(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    ads: StrictBool | None = None
    crm: StrictBool | None = None


# Validating a RawEvent checks every rule of a single field. The rules pydantic-core cannot
# state, properties' nesting depth (`properties_too_deep`) and the rules across fields
# (`cross_field`), forgiving.validate checks after it; events are validated only there.
class RawEvent(BaseModel):
    """One JSON object per record on eventyard.raw."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        title="eventyard raw event v1",
        json_schema_extra={
            "$id": "https://eventyard.dev/schemas/raw-event.v1.json",
            **_CROSS_FIELD_SCHEMA,
        },
    )

    event: Annotated[
        StrictStr, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z][A-Za-z0-9_.:-]*$")
    ]
    eventId: Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=r"^[!-~]+$")]
    # A union fails once per member; forgiving.py reports the member the input's type
    # chose, at the field.
    timestamp: (
        Annotated[
            StrictStr,
            Field(pattern=RFC3339, json_schema_extra={"format": "date-time"}),
            AfterValidator(_real_time),
        ]
        | Annotated[StrictInt, Field(ge=0)]
        | None
    ) = None
    source: Literal["browser", "server", "mobile", "import"] | None = None
    userId: Id | None = None
    anonymousId: Id | None = None
    externalId: Id | None = None
    email: Annotated[
        StrictStr,
        Field(max_length=320, pattern=_EMAIL, json_schema_extra={"pattern": _EMAIL_SCHEMA}),
    ] | None = None
    phone: Annotated[StrictStr, Field(max_length=32, pattern=_PHONE)] | None = None
    firstName: Text255 | None = None
    lastName: Text255 | None = None
    city: Text255 | None = None
    state: Text255 | None = None
    zip: Text255 | None = None
    # Upper-cased before validation (normalise.py).
    country: Annotated[
        StrictStr,
        Field(pattern=_one_of(COUNTRY_CODES), json_schema_extra=_in_schema(
            pattern=None, enum=sorted(COUNTRY_CODES),
        )),
    ] | None = None
    companyDomain: Text255 | None = None
    pageUrl: Url | None = None
    referrer: Url | None = None
    # IPv4 in pydantic-core; the rest (IPv6) in Python. See `timestamp` for the union.
    ip: Annotated[
        Annotated[StrictStr, Field(pattern=_IPV4)] | Annotated[StrictStr, AfterValidator(_ipv6)],
        WithJsonSchema({"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}),
    ] | None = None
    userAgent: Annotated[StrictStr, Field(max_length=1024)] | None = None
    # Normalised before validation (normalise.py): known keys, trimmed non-empty values.
    clickIds: Annotated[
        dict[
            Annotated[StrictStr, Field(pattern=_one_of(CLICK_ID_INPUT_KEYS))],
            Annotated[StrictStr, Field(min_length=1)],
        ],
        Field(json_schema_extra=_in_schema(
            patternProperties=None,
            propertyNames={"enum": sorted(CLICK_ID_INPUT_KEYS)},
            additionalProperties={"type": "string", "minLength": 1, **_NOT_BLANK},
        )),
    ] | None = None
    consent: Consent | None = None
    value: Annotated[float, Field(allow_inf_nan=False)] | None = None
    # Upper-cased before validation (normalise.py).
    currency: Annotated[
        StrictStr,
        Field(
            pattern=_one_of(CURRENCY_CODES),
            json_schema_extra={"pattern": r"^[A-Z]{3}$", "enum": sorted(CURRENCY_CODES)},
        ),
    ] | None = None
    # A parsed JSON object (its keys are strings), kept as parsed: an isinstance check
    # instead of a copy.
    properties: InstanceOf[dict[str, Any]] | None = None


FIELDS: frozenset[str] = frozenset(RawEvent.model_fields)
