"""The raw event contract v1 (DESIGN.md §3) as a pydantic v2 model.

The model is the single source of truth: schemas/raw-event.v1.json is generated from it
and a test fails when the checked-in file drifts. Validation is strict (no "123" -> 123
coercion) because producers in any language must see the same rules; the corrections the
router makes before validating (trimming, case, a numeric-string value) are explicit, in
normalise.py, and reported as warnings where they change the event.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import phonenumbers
import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    model_validator,
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

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.][^@\s]*$")
_PHONE = re.compile(r"^[0-9 +\-().]*[0-9][0-9 +\-().]*$")
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)
_RFC3339 = re.compile(
    # [0-9], not \d: \d takes any Unicode digit, which datetime does not.
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


def _invalid(rule: str, message: str) -> PydanticCustomError:
    # The error type carries our rule name; codec.py maps it to a reason code.
    return PydanticCustomError(rule, message)


def _email(v: str) -> str:
    if not _EMAIL.fullmatch(v):
        raise _invalid("invalid", "must look like an address (one @, a dot in the domain)")
    return v


def _phone(v: str) -> str:
    if not _PHONE.fullmatch(v):
        raise _invalid("invalid", "digits, spaces and + - ( ) . only")
    return v


def _country(v: str) -> str:
    if v.upper() not in COUNTRY_CODES:
        raise _invalid("invalid", "must be an ISO 3166-1 alpha-2 code")
    return v


def _url(v: str) -> str:
    if not _URL.fullmatch(v):
        raise _invalid("invalid", "must be an absolute http(s) URL")
    return v


_IPV4 = re.compile(r"^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$")


def _ip(v: str) -> str:
    if _IPV4.fullmatch(v):  # the common case, ~10x cheaper than ipaddress's parser
        return v
    try:
        ipaddress.ip_address(v)
    except ValueError:
        raise _invalid("invalid", "must be an IPv4 or IPv6 address") from None
    return v


def parse_rfc3339(v: str) -> datetime:
    """RFC 3339 allows a lower-case `z`, which datetime.fromisoformat does not."""
    return datetime.fromisoformat(v[:-1] + "Z" if v.endswith("z") else v)


def _timestamp(v: str | int) -> str | int:
    if isinstance(v, str):
        if not _RFC3339.fullmatch(v):
            raise _invalid(
                "format", "must be RFC 3339 with an offset, or epoch seconds or milliseconds"
            )
        try:
            # .timestamp() too: a valid-looking time can fall outside what the router can
            # represent ("0001-01-01T00:00:00+01:00" is before year 1 in UTC).
            datetime.fromtimestamp(parse_rfc3339(v).timestamp(), UTC)
        except (ValueError, OverflowError, OSError):
            raise _invalid("format", "is not a real date and time") from None
    elif v < 0:
        raise _invalid("format", "epoch time must not be negative")
    return v


def _click_ids(v: dict[str, str]) -> dict[str, str]:
    for key, val in v.items():
        if key not in CLICK_ID_INPUT_KEYS:
            raise _invalid(
                "unknown_key", "keys must be one of " + " ".join(sorted(CLICK_ID_INPUT_KEYS))
            )
        if not val:
            raise _invalid("empty", "values must not be empty")
    return v


def _currency(v: str) -> str:
    if v not in CURRENCY_CODES:
        raise _invalid("invalid", "must be an ISO 4217 currency code")
    return v


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


SHALLOW = "shallow"  # validation-context flag: the caller proved the depth rule holds


def _properties(v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    if info.context and info.context.get(SHALLOW):
        return v
    if not _depth(v, MAX_PROPERTIES_DEPTH):
        raise _invalid("too_deep", f"must nest at most {MAX_PROPERTIES_DEPTH} levels")
    return v


def _s(max_len: int, min_len: int = 0) -> Any:
    return Field(default=None, min_length=min_len, max_length=max_len)


# Schema-only constraints: the runtime checks these with the validators above (and trims
# first, codec.py), the schema states them so producers' tools and the property test
# (tests/unit/test_schema_agreement.py) see the same contract.
_NOT_BLANK = {"pattern": r"\S"}
_URL_SCHEMA = {"pattern": r"^[hH][tT][tT][pP][sS]?://[^\s/?#]+[^\s]*$"}
_IDENTITY = ("userId", "anonymousId", "externalId", "email")
# Money events: taxonomy entries that require a value (and so a currency).
_MONEY = sorted(n for n, e in TAXONOMY.items() if "value" in e.requires)
_CROSS_FIELD_SCHEMA: dict[str, Any] = {
    "anyOf": [{"required": [f], "properties": {f: {"type": "string"}}} for f in _IDENTITY],
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

Id = Annotated[StrictStr, Field(min_length=1, max_length=255, json_schema_extra=_NOT_BLANK)]
Text255 = Annotated[StrictStr, Field(max_length=255)]


class Consent(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    ads: StrictBool | None = None
    crm: StrictBool | None = None


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
    timestamp: Annotated[
        Annotated[StrictStr, Field(json_schema_extra={
            "pattern": _RFC3339.pattern, "format": "date-time",
        })]
        | Annotated[StrictInt, Field(json_schema_extra={"minimum": 0})],
        AfterValidator(_timestamp),
    ] | None = None
    source: Literal["browser", "server", "mobile", "import"] | None = None
    userId: Id | None = None
    anonymousId: Id | None = None
    externalId: Id | None = None
    email: Annotated[
        StrictStr,
        Field(max_length=320, json_schema_extra={"pattern": _EMAIL.pattern}),
        AfterValidator(_email),
    ] | None = None
    phone: Annotated[
        StrictStr,
        Field(max_length=32, json_schema_extra={"pattern": _PHONE.pattern}),
        AfterValidator(_phone),
    ] | None = None
    firstName: Text255 | None = None
    lastName: Text255 | None = None
    city: Text255 | None = None
    state: Text255 | None = None
    zip: Text255 | None = None
    country: Annotated[
        StrictStr,
        Field(json_schema_extra={"enum": sorted(COUNTRY_CODES)}),
        AfterValidator(_country),
    ] | None = None
    companyDomain: Text255 | None = None
    pageUrl: Annotated[
        StrictStr, Field(max_length=2048, json_schema_extra=_URL_SCHEMA), AfterValidator(_url)
    ] | None = None
    referrer: Annotated[
        StrictStr, Field(max_length=2048, json_schema_extra=_URL_SCHEMA), AfterValidator(_url)
    ] | None = None
    ip: Annotated[
        StrictStr,
        Field(json_schema_extra={"anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}),
        AfterValidator(_ip),
    ] | None = None
    userAgent: Annotated[StrictStr, Field(max_length=1024)] | None = None
    clickIds: Annotated[
        dict[str, StrictStr],
        AfterValidator(_click_ids),
        Field(json_schema_extra={
            "propertyNames": {"enum": sorted(CLICK_ID_INPUT_KEYS)},
            "additionalProperties": {"type": "string", "minLength": 1, **_NOT_BLANK},
        }),
    ] | None = None
    consent: Consent | None = None
    value: Annotated[float, Field(allow_inf_nan=False)] | None = None
    currency: Annotated[
        StrictStr,
        Field(pattern=r"^[A-Z]{3}$", json_schema_extra={"enum": sorted(CURRENCY_CODES)}),
        AfterValidator(_currency),
    ] | None = None
    properties: Annotated[dict[str, Any], AfterValidator(_properties)] | None = None

    @model_validator(mode="after")
    def _cross_field(self) -> RawEvent:
        if not (self.userId or self.anonymousId or self.externalId or self.email):
            raise _invalid("identity_missing", "one of userId, anonymousId, externalId, email")
        if self.value is not None and self.currency is None:
            raise _invalid("currency_missing", "currency is required whenever value is present")
        return self


FIELDS: frozenset[str] = frozenset(RawEvent.model_fields)
