"""The closed lists of dead-letter reason codes and warning codes (DESIGN.md §3).

Codes are stable API: dashboards, alerts and DLQ replay tools key on them. A new failure
mode gets a new code here, a line in docs/reason-codes.md (generated, checked for drift)
and a test that produces it. Codes never carry user values, so they are safe metric labels.

A field that fails validation either makes the event a dead letter (`contract.<field>.
<rule>`, listed in _FIELD_RULES) or is dropped with a warning (`<field>.<rule>`, listed in
_WARNING_RULES) and the event is routed without it: a valid business event is never lost
over the form of an optional field. _DECISIONS says why, per field.
"""

from __future__ import annotations

from types import MappingProxyType

# field -> rules that make the event a dead letter. `contract.<field>.<rule>`.
_FIELD_RULES: dict[str, tuple[str, ...]] = {
    "event": ("missing", "type", "empty", "too_long", "format"),
    "eventId": ("missing", "type", "empty", "too_long", "format"),
    "timestamp": ("type", "format"),
    "userId": ("type", "too_long"),
    "anonymousId": ("type", "too_long"),
    "externalId": ("type", "too_long"),
    "consent": ("type", "unknown_key", "value_type"),
    # money events; JSON has no NaN/Infinity, orjson rejects float overflow; an integer
    # beyond ±2^53 is out_of_range on any event (contract/strictjson.py)
    "value": ("type", "out_of_range"),
    "currency": ("type", "invalid", "missing"),  # money events
    "properties": ("too_deep", "out_of_range"),
}

# field -> rules for which the field is dropped (or corrected) and the event routed.
# `<field>.<rule>`, on the warehouse record's `warnings` and in eventyard_warnings_total.
_WARNING_RULES: dict[str, tuple[str, ...]] = {
    "source": ("invalid",),
    "userId": ("empty",),
    "anonymousId": ("empty",),
    "externalId": ("empty",),
    "email": ("type", "too_long", "invalid"),
    "phone": ("type", "too_long", "invalid"),
    "firstName": ("type", "too_long"),
    "lastName": ("type", "too_long"),
    "city": ("type", "too_long"),
    "state": ("type", "too_long"),
    "zip": ("type", "too_long"),
    "country": ("type", "invalid"),
    "companyDomain": ("type", "too_long"),
    "pageUrl": ("type", "too_long", "invalid"),
    "referrer": ("type", "too_long", "invalid"),
    "ip": ("type", "invalid"),
    "userAgent": ("type", "too_long"),
    "clickIds": ("type", "unknown_key", "value_type", "empty"),
    "value": ("type", "coerced", "negative"),
    "currency": ("type", "invalid", "missing"),
    "properties": ("type",),
}

# What happens to each field, and why: rendered into docs/reason-codes.md.
_DECISIONS: dict[str, str] = {
    "event": "Trimmed. Still unusable: dead letter (routing is by event name).",
    "eventId": "Trimmed. Still unusable: dead letter (it is the dedup key).",
    "timestamp": "RFC 3339 with `Z`, `z` or an offset, or integer epoch time: below 10^11 it "
    "counts as seconds (10^11 s is year 5138, 10^11 ms is March 1973), otherwise as "
    "milliseconds. Unusable: dead letter, because the broker's time would silently re-date "
    "the event and ad platforms' age limits depend on it.",
    "source": "Trimmed. Not one of browser, server, mobile, import: dropped.",
    "userId": "Trimmed. Empty: dropped. Wrong type or too long: dead letter (an identity is a "
    "join key; routing under another one would attribute the event to someone else). "
    "anonymousId and externalId alike.",
    "email": "Trimmed. Unusable: dropped; if it was the only identity, the event is a dead "
    "letter `contract.identity.missing`, whose detail says it was dropped.",
    "phone": "Trimmed. Unusable: dropped.",
    "firstName": "Trimmed. Too long or wrong type: dropped. lastName, city, state, zip and "
    "companyDomain alike.",
    "country": "Trimmed and upper-cased. Not an ISO 3166-1 alpha-2 code: dropped.",
    "pageUrl": "Trimmed. Not an absolute http(s) URL or too long: dropped. referrer alike.",
    "ip": "Trimmed. Not an IPv4 or IPv6 address: dropped.",
    "userAgent": "Trimmed. Too long or wrong type: dropped.",
    "clickIds": "Values trimmed. `fbclid` becomes Meta's `fbc` (`fb.1.<event time ms>.<fbclid>`) "
    "unless an `fbc` is given. An unknown key, a non-string or empty value: that entry is "
    "dropped. Not an object: dropped.",
    "consent": "Unusable: dead letter. Consent is never guessed: dropping a malformed "
    "`{\"ads\": \"no\"}` would send the event where the user said no.",
    "value": "A number written as a string (`\"49.00\"`) becomes the number, with a warning. "
    "Negative (a refund): kept on the warehouse and CRM records, left off ads records "
    "(value and currency), with a warning. Unusable on a money event (one whose taxonomy "
    "entry requires value): dead letter; on any other event: dropped with its currency.",
    "currency": "Trimmed and upper-cased, then checked against ISO 4217 (pycountry's list, "
    "less XXX and XTS). Invalid or missing while value is present: dead letter on a money "
    "event; on any other event value and currency are dropped.",
    "properties": "Not an object: dropped. Nested deeper than allowed, also past the JSON "
    "parser's own limit: dead letter `contract.properties.too_deep` (a guard against hostile "
    "input). An integer beyond 64-bit signed: dead letter `contract.properties.out_of_range` "
    "(send it as a string), never silently a float.",
    "integers": "`value` beyond ±2^53 (what a double holds exactly): dead letter "
    "`contract.value.out_of_range` on any event; never silently rounded.",
    "duplicate keys": "An object that names a key twice, at any depth: dead letter "
    "`contract.duplicate_key` (parsers keep one copy silently: "
    "`\"consent\":{\"ads\":false},\"consent\":{\"ads\":true}` would bypass consent).",
    "unknown field": "Dead letter `contract.unknown_field`: a field the contract does not "
    "know is most often a misspelt one (`emial`, `eventid`), and the detail names the "
    "field it resembles.",
}

_RULE_TEXT = {
    "missing": "is required",
    "type": "has the wrong JSON type",
    "empty": "must not be empty",
    "too_long": "is longer than allowed",
    "format": "has characters or a shape the contract does not allow",
    "invalid": "is not a valid value",
    "unknown_key": "has a key the contract does not know",
    "value_type": "has a value of the wrong type",
    "not_finite": "must be a finite number",
    "too_deep": "nests deeper than allowed",
    "out_of_range": "has an integer a JSON consumer cannot hold exactly",
}

_WARNING_TEXT = {
    "value.coerced": "value was a number written as a string: converted to the number",
    "value.negative": "value is negative: value and currency are left off ads records",
    "value.type": "value has the wrong JSON type: value and currency dropped",
    "currency.type": "currency has the wrong JSON type: value and currency dropped",
    "currency.invalid": "currency is not an ISO 4217 code: value and currency dropped",
    "currency.missing": "value came without a currency: value dropped",
    "clickIds.unknown_key": "clickIds has a key the contract does not know: that entry dropped",
    "clickIds.value_type": "clickIds has a value that is not a string: that entry dropped",
    "clickIds.empty": "clickIds has an empty value: that entry dropped",
}

_OTHER: dict[str, str] = {
    "size.too_large": "the record is larger than the size limit",
    "decode.empty": "the record has no value (null or empty)",
    "decode.not_utf8": "the record value is not UTF-8",
    "decode.invalid_json": "the record value is not valid JSON",
    "decode.not_object": "the JSON value is not an object",
    "contract.unknown_field": "a top-level field the contract does not know",
    "contract.duplicate_key": "an object names the same key twice (JSON parsers keep only one)",
    "contract.identity.missing": "none of userId, anonymousId, externalId, email is present "
    "(or usable)",
    "taxonomy.unknown_event": "a custom event the policy rejects, or a misspelt canonical name",
    # Money events require value and currency; currency without value is caught first by
    # the contract (contract.currency.missing), so only the value rule needs its own code.
    "taxonomy.value.missing": "the canonical event requires value",
    "timestamp.future": "the event time is more than 5 minutes in the future",
    "internal.error": "the router failed on this record (a bug): kept here for replay",
}

REASONS: MappingProxyType[str, str] = MappingProxyType(
    {
        **_OTHER,
        **{
            f"contract.{field}.{rule}": f"{field} {_RULE_TEXT[rule]}"
            for field, rules in _FIELD_RULES.items()
            for rule in rules
        },
    }
)
"""Every reason code with a one-line meaning. This mapping IS the closed list."""

WARNINGS: MappingProxyType[str, str] = MappingProxyType(
    {
        code: _WARNING_TEXT.get(code) or f"{field} {_RULE_TEXT[rule]}: dropped"
        for field, rules in _WARNING_RULES.items()
        for rule in rules
        if (code := f"{field}.{rule}")
    }
)
"""Every warning code with what the router did. The closed list of warnings."""

FIELD_RULES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(_FIELD_RULES)
WARNING_RULES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(_WARNING_RULES)


def field_reason(field: str, rule: str) -> str:
    """The code for a field-level failure; falls back to a coarser code of the same field
    so an unforeseen pydantic error type can never produce a code outside the list."""
    code = f"contract.{field}.{rule}"
    if code in REASONS:
        return code
    rules = _FIELD_RULES.get(field)
    if rules is None:
        return "contract.unknown_field"
    return f"contract.{field}.{'invalid' if 'invalid' in rules else rules[0]}"


def warning_code(field: str, rule: str) -> str | None:
    """The warning for dropping `field` after it failed `rule`, or None when that
    failure makes the event a dead letter (a dead-letter rule of the field that is not
    also a warning rule, or a field with no warnings at all). Whether value and currency
    may be dropped depends on the event (forgiving.py)."""
    rules = _WARNING_RULES.get(field)
    if rules is None:
        return None
    if rule in rules:
        return f"{field}.{rule}"
    if rule in _FIELD_RULES.get(field, ()):
        return None
    return f"{field}.{rules[0]}"


def render_markdown() -> str:
    """docs/reason-codes.md, generated from this module (tests fail when the file drifts)."""
    lines = [
        "# Dead-letter reasons and warnings",
        "",
        "Generated from `eventyard.contract.reasons` by `make schemas`; do not edit by hand.",
        "",
        "The rule: a valid business event is never lost over the form of an optional field.",
        "The router normalises first (surrounding whitespace trimmed from every top-level",
        "string, `currency` and `country` upper-cased), then validates. An optional field",
        "that is still unusable is dropped or corrected, the event is routed, and the change",
        "is visible: a `warnings` list of `{field, code}` on the warehouse record and in",
        "`eventyard explain`, and `eventyard_warnings_total{code}`. Only what cannot be",
        "routed is dead-lettered.",
        "",
        "## Decisions per field",
        "",
        "| field | decision |",
        "|---|---|",
    ]
    lines += [f"| `{field}` | {text} |" for field, text in _DECISIONS.items()]
    lines += [
        "",
        "## Dead-letter reason codes",
        "",
        "The list is closed: every record on the dead-letter topic carries exactly one of",
        "these in its `eventyard-reason` header, and `eventyard-detail` names the field and",
        "the rule (never the value).",
        "",
        "| code | meaning |",
        "|---|---|",
    ]
    lines += [f"| `{code}` | {text} |" for code, text in sorted(REASONS.items())]
    lines += [
        "",
        "## Warning codes",
        "",
        "The list is closed. A warning never carries the value, only the field and the code.",
        "",
        "| code | what the router did |",
        "|---|---|",
    ]
    lines += [f"| `{code}` | {text} |" for code, text in sorted(WARNINGS.items())]
    return "\n".join(lines) + "\n"
