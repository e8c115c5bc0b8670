"""Validate a normalised raw event, dropping optional fields that are still unusable.

Each failing field is looked up in reasons.WARNINGS: a field the event can do without
(an invalid email beside a userId, a malformed pageUrl) is dropped with a warning and the
event validated again; a field it cannot (eventId, timestamp, consent, the value and
currency of a money event, ...) makes the event a dead letter with its reason code.
Per-field decisions are listed in docs/reason-codes.md.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from eventyard.contract.model import RawEvent
from eventyard.contract.normalise import FieldWarning
from eventyard.contract.reasons import FIELD_RULES, WARNING_RULES, warning_code
from eventyard.taxonomy import TAXONOMY

# Events whose taxonomy entry requires a value: without a usable value and currency they
# cannot be routed, so those two fields are never dropped for them.
MONEY_EVENTS = frozenset(name for name, spec in TAXONOMY.items() if "value" in spec.requires)

# pydantic's built-in error types -> our rule names. Custom validators already raise
# errors typed with our rule names (model.py), so they pass through unchanged.
_PYDANTIC_RULES = {
    "missing": "missing",
    "string_too_short": "empty",
    "string_too_long": "too_long",
    "finite_number": "not_finite",
    "literal_error": "invalid",
    "enum": "invalid",
}
_OUR_RULES = frozenset(
    r for table in (FIELD_RULES, WARNING_RULES) for rules in table.values() for r in rules
)
# Fields that travel together: a value without its currency means nothing.
_PAIRED = {"value": "currency", "currency": "value"}


def rule_for(field: str, error_type: str, nested: bool) -> str:
    if error_type in _OUR_RULES:
        return error_type
    if error_type in _PYDANTIC_RULES:
        return _PYDANTIC_RULES[error_type]
    if error_type == "string_pattern_mismatch":
        known = (*FIELD_RULES.get(field, ()), *WARNING_RULES.get(field, ()))
        return "format" if "format" in known else "invalid"
    if error_type.endswith("_type") or error_type in ("model_attributes_type",):
        return "value_type" if nested else "type"
    if error_type == "extra_forbidden":
        return "unknown_key"
    return error_type


def _droppable(err: Any, money: bool) -> tuple[str, str] | None:
    """(field, warning code) when the error's field can be dropped, else None."""
    loc: tuple[Any, ...] = err["loc"]
    if not loc:  # a cross-field rule; only "value without currency" has a fallback
        if err["type"] == "currency_missing" and not money:
            return "currency", "currency.missing"
        return None
    field = str(loc[0])
    if money and field in _PAIRED:
        return None
    if err["type"] == "extra_forbidden" and len(loc) == 1:
        return None  # an unknown top-level field: most often a misspelt one
    code = warning_code(field, rule_for(field, err["type"], nested=len(loc) > 1))
    return (field, code) if code is not None else None


def validate(
    obj: dict[str, Any], context: dict[str, Any] | None, event_name: object
) -> tuple[RawEvent, list[FieldWarning]]:
    """The validated event and what was dropped to get it; raises the ValidationError of
    the fields that cannot be dropped. Each retry removes at least one field, so this
    ends; a valid event is validated once."""
    money = isinstance(event_name, str) and event_name in MONEY_EVENTS
    warnings: list[FieldWarning] = []
    while True:
        try:
            return RawEvent.model_validate(obj, context=context), warnings
        except ValidationError as exc:
            drops: dict[str, str] = {}
            for err in exc.errors(include_url=False, include_input=False):
                found = _droppable(err, money)
                if found is not None:
                    drops.setdefault(*found)
            if not drops:
                raise
            gone = set(drops) | {_PAIRED[f] for f in drops if f in _PAIRED}
            obj = {k: v for k, v in obj.items() if k not in gone}
            warnings.extend(FieldWarning(f, code) for f, code in drops.items())
