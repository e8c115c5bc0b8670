"""Validate a normalised raw event, dropping optional fields that are still unusable.

Each failing field is looked up in reasons.WARNINGS: a field the event can do without
(an invalid email beside a userId, a malformed pageUrl) is dropped with a warning and the
event validated again; a field it cannot (eventId, timestamp, consent, the value and
currency of a money event, ...) makes the event a dead letter with its reason code.
Per-field decisions are listed in docs/reason-codes.md.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import groupby
from typing import Any

from pydantic import ValidationError

from eventyard.contract.model import MAX_PROPERTIES_DEPTH, RULES, RawEvent, cross_field
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

Error = dict[str, Any]  # pydantic's error shape: type, loc, msg

# The model's validator, called directly: model_validate adds a Python frame per event.
_VALIDATE: Callable[[dict[str, Any]], RawEvent] = RawEvent.__pydantic_validator__.validate_python
# The model's fields whose type is a union of members: pydantic fails them once per
# member, with the member's tag in the path.
_UNIONS = frozenset({"timestamp", "ip"})
# A member's type error, by the type it wanted.
_TYPE_ERRORS = {"string_type": "str", "int_type": "int"}
_TOO_DEEP: Error = {
    "type": "too_deep",
    "loc": ("properties",),
    "msg": f"must nest at most {MAX_PROPERTIES_DEPTH} levels",
}
_CROSS_FIELD_MESSAGES = {
    "identity_missing": "one of userId, anonymousId, externalId, email",
    "currency_missing": "currency is required whenever value is present",
}


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


def _ours(field: str, err: Error) -> Error:
    """`err` under our rule name and message when model.RULES has one."""
    rule = RULES.get((field, err["type"]))
    if rule is None:
        return err
    return {"type": rule[0], "loc": (field,), "msg": rule[1]}


def _union(field: str, members: list[Error]) -> list[Error]:
    """A union field's errors as one field's: the error of the member the input's type
    chose, at the field; when no member took its type, one type error per wanted type
    (tagged with the type when there are several)."""
    for err in members:
        if err["type"] not in _TYPE_ERRORS:
            return [_ours(field, {**err, "loc": (field,)})]
    wanted = {_TYPE_ERRORS[e["type"]]: e for e in members}
    if len(wanted) == 1:
        return [{**members[0], "loc": (field,)}]
    return [{**e, "loc": (field, tag)} for tag, e in wanted.items()]


def _errors(exc: ValidationError) -> list[Error]:
    """pydantic's errors in our terms (see `_ours`, `_union`), in the same order."""
    out: list[Error] = []
    # pydantic validates field by field, so a field's errors are next to each other.
    for field, group in groupby(
        exc.errors(include_url=False, include_input=False),
        key=lambda e: str(e["loc"][0]) if e["loc"] else "",
    ):
        errors: list[Error] = [dict(e) for e in group]
        if field in _UNIONS:
            out += _union(field, errors)
        else:
            out += [_ours(field, e) if len(e["loc"]) == 1 else e for e in errors]
    return out


def _droppable(err: Error, money: bool) -> tuple[str, str] | None:
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
    obj: dict[str, Any], too_deep: bool, event_name: object
) -> tuple[RawEvent, list[FieldWarning]] | list[Error]:
    """The validated event and what was dropped to get it, or the errors of the fields
    that cannot be dropped (pydantic's shape, in the model's field order, under our rule
    names and messages where model.RULES has them). `too_deep`: obj's properties is an
    object nested deeper than allowed (model.properties_too_deep). Each retry removes at
    least one field, so this ends; a valid event is validated once."""
    money = isinstance(event_name, str) and event_name in MONEY_EVENTS
    warnings: list[FieldWarning] = []
    while True:
        try:
            event = _VALIDATE(obj)
        except ValidationError as exc:
            errors = _errors(exc)
            if too_deep:  # properties is the model's last field
                errors.append(_TOO_DEEP)
        else:
            if too_deep:
                return [_TOO_DEEP]
            rule = cross_field(event)
            if rule is None:
                return event, warnings
            errors = [{"type": rule, "loc": (), "msg": _CROSS_FIELD_MESSAGES[rule]}]
        drops: dict[str, str] = {}
        for err in errors:
            found = _droppable(err, money)
            if found is not None:
                drops.setdefault(*found)
        if not drops:
            return errors
        gone = set(drops) | {_PAIRED[f] for f in drops if f in _PAIRED}
        obj = {k: v for k, v in obj.items() if k not in gone}
        warnings.extend(FieldWarning(f, code) for f, code in drops.items())
