"""The closed list of dead-letter reason codes (DESIGN.md §3).

Codes are stable API: dashboards, alerts and DLQ replay tools key on them. A new failure
mode gets a new code here, a line in docs/reason-codes.md (generated, checked for drift)
and a test that produces it. Codes never carry user values, so they are safe metric labels.
"""

from __future__ import annotations

from types import MappingProxyType

# field -> rules that field can fail. `contract.<field>.<rule>`.
_FIELD_RULES: dict[str, tuple[str, ...]] = {
    "event": ("missing", "type", "empty", "too_long", "format"),
    "eventId": ("missing", "type", "empty", "too_long", "format"),
    "timestamp": ("type", "format"),
    "source": ("invalid",),  # any non-member, string or not, is "invalid"
    "userId": ("type", "empty", "too_long"),
    "anonymousId": ("type", "empty", "too_long"),
    "externalId": ("type", "empty", "too_long"),
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
    "clickIds": ("type", "unknown_key", "value_type"),
    "consent": ("type", "unknown_key", "value_type"),
    "value": ("type",),  # JSON has no NaN/Infinity; orjson rejects overflow as invalid JSON
    "currency": ("type", "invalid", "missing"),
    "properties": ("type", "too_deep"),
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
}

_OTHER: dict[str, str] = {
    "size.too_large": "the record is larger than the size limit",
    "decode.empty": "the record has no value (null or empty)",
    "decode.not_utf8": "the record value is not UTF-8",
    "decode.invalid_json": "the record value is not valid JSON",
    "decode.not_object": "the JSON value is not an object",
    "contract.unknown_field": "a top-level field the contract does not know",
    "contract.identity.missing": "none of userId, anonymousId, externalId, email is present",
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

FIELD_RULES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(_FIELD_RULES)


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


def render_markdown() -> str:
    """docs/reason-codes.md, generated from REASONS (tests fail when the file drifts)."""
    lines = [
        "# Dead-letter reason codes",
        "",
        "Generated from `eventyard.contract.reasons` by `make schemas`; do not edit by hand.",
        "The list is closed: every record on the dead-letter topic carries exactly one of",
        "these in its `eventyard-reason` header, and `eventyard-detail` names the field and",
        "the rule (never the value).",
        "",
        "| code | meaning |",
        "|---|---|",
    ]
    lines += [f"| `{code}` | {text} |" for code, text in sorted(REASONS.items())]
    return "\n".join(lines) + "\n"
