"""The forgiving half of the contract: normalise a parsed raw event before validation.

The rule (docs/reason-codes.md): a valid business event is never lost over the form of an
optional field. Surrounding whitespace is trimmed from every top-level string, `currency`
and `country` are upper-cased, a numeric string `value` becomes a number, and click ids
are cleaned key by key. What changes the meaning of the event (a coerced value, a dropped
click id) is reported as a `FieldWarning`; trimming and case are not, they are the form
the platforms' own rules ask for.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from eventyard.contract.model import CLICK_ID_INPUT_KEYS


@dataclass(frozen=True, slots=True)
class FieldWarning:
    """A field the router corrected or dropped; `code` is from reasons.WARNINGS."""

    field: str
    code: str

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code}


_UPPER = frozenset({"currency", "country"})
# JSON's number syntax: "49.00" and "-5" are numbers written as strings; "49,00", "0x10",
# " 1_000" and "NaN" are not, and stay what they are (a type error).
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def normalise(obj: dict[str, Any]) -> tuple[dict[str, Any], list[FieldWarning]]:
    """(normalised copy of `obj`, warnings). `obj` itself is never changed, and is
    returned as is when nothing needs a change (`unchanged`, the common case)."""
    if unchanged(obj):
        return obj, []
    return normalise_each(obj)


def unchanged(obj: dict[str, Any]) -> bool:
    """True when `normalise_each` would return `obj` itself and no warning: no top-level
    string has surrounding whitespace (str.strip returns the very object then), country
    and currency are upper case, value is not a string, clickIds is already clean."""
    for value in obj.values():
        if type(value) is str and value.strip() is not value:
            return False
    for key in _UPPER:
        value = obj.get(key)
        if type(value) is str and value.upper() != value:
            return False
    if type(obj.get("value")) is str:
        return False
    clicks = obj.get("clickIds")
    return type(clicks) is not dict or _click_ids(clicks, []) is clicks


def normalise_each(obj: dict[str, Any]) -> tuple[dict[str, Any], list[FieldWarning]]:
    """`normalise`, field by field."""
    changes: dict[str, Any] = {}
    warnings: list[FieldWarning] = []
    for key, value in obj.items():
        if type(value) is str:
            new = value.strip()
            if key in _UPPER:
                new = new.upper()
            elif key == "value" and _NUMBER.fullmatch(new) and math.isfinite(float(new)):
                changes[key] = float(new)
                warnings.append(FieldWarning("value", "value.coerced"))
                continue
            if new != value:
                changes[key] = new
        elif key == "clickIds" and type(value) is dict:
            clicks = _click_ids(value, warnings)
            if clicks is not value:
                changes[key] = clicks
    if not changes:
        return obj, warnings
    return {**obj, **changes}, warnings


def _click_ids(clicks: dict[str, Any], warnings: list[FieldWarning]) -> dict[str, Any]:
    """Known keys with non-empty string values, trimmed; every other entry is dropped
    with a warning (one per code). `fbclid` is kept here and becomes `fbc` once the
    event time is known (codec.py)."""
    kept: dict[str, Any] = {}
    codes: list[str] = []
    for key, value in clicks.items():
        if key not in CLICK_ID_INPUT_KEYS:
            codes.append("clickIds.unknown_key")
        elif type(value) is not str:
            codes.append("clickIds.value_type")
        elif not (trimmed := value.strip()):
            codes.append("clickIds.empty")
        else:
            kept[key] = trimmed
    if not codes and kept == clicks:
        return clicks
    warnings.extend(FieldWarning("clickIds", c) for c in dict.fromkeys(codes))
    return kept


def fbc_from_fbclid(fbclid: str, click_time_ms: int) -> str:
    """Meta's click id in its documented `_fbc` format, `fb.<subdomain index>.<creation
    time in ms>.<fbclid>`: subdomain index 1 (the site's registrable domain), created
    when the event happened."""
    return f"fb.1.{click_time_ms}.{fbclid}"
