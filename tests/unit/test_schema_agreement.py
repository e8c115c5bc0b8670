"""schemas/raw-event.v1.json and the runtime agree, field by field (property tests).

Forward: every event the schema accepts is routed as it is, with no field corrected or
dropped; it can only be refused for what a schema cannot state (the policy's view of an
event name, a time in the future, the size in bytes, nesting depth).
Reverse: whatever the runtime routes, however messy the input, is after normalisation an
event the schema accepts.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from eventyard.contract.codec import Decoded, decode
from eventyard.contract.model import CLICK_ID_INPUT_KEYS, CURRENCY_CODES, FIELDS
from eventyard.routing.outcome import DeadLetter
from eventyard.taxonomy import TAXONOMY

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schemas" / "raw-event.v1.json").read_text()
)
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)
NOW_MS = 1_750_000_000_000
# Refusals no JSON Schema can state: whether the policy takes an event name, the clock,
# the record's size in bytes, and nesting depth.
BEYOND_THE_SCHEMA = {"taxonomy.unknown_event", "timestamp.future", "size.too_large",
                     "contract.properties.too_deep"}
INT64 = 2**63 - 1


def _fits_int64(value: Any) -> bool:
    """orjson, like most JSON parsers, reads integers up to 64 bits; larger ones are a
    parser limit, not a contract rule."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -INT64 - 1 <= value <= 2**64 - 1
    if isinstance(value, dict):
        return all(_fits_int64(v) for v in value.values())
    if isinstance(value, list):
        return all(_fits_int64(v) for v in value)
    return True


def from_schema(node: dict[str, Any], root: dict[str, Any] = SCHEMA) -> st.SearchStrategy[Any]:
    """Values for the JSON Schema subset the contract's schema uses. (hypothesis-jsonschema
    does this in general, but its release is incompatible with the hypothesis we run.)
    The document's own cross-field rules are then applied as a filter by the caller."""
    if "$ref" in node:
        return from_schema(root["$defs"][node["$ref"].rsplit("/", 1)[1]], root)
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if "anyOf" in node and "type" not in node:
        return st.one_of([from_schema(n, root) for n in node["anyOf"]])
    kind = node.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(min_value=node.get("minimum"), max_value=INT64)
    if kind == "number":
        return st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                         st.integers(-(2**53), 2**53))
    if kind == "string":
        return _string(node)
    assert kind == "object", node
    props = node.get("properties")
    if props is None:  # a map: clickIds (named keys) or properties (free JSON)
        names = node.get("propertyNames", {})
        keys = st.sampled_from(names["enum"]) if "enum" in names else st.text(max_size=8)
        values = node.get("additionalProperties")
        inner = from_schema(values, root) if isinstance(values, dict) else st.recursive(
            st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8),
            lambda kids: st.lists(kids, max_size=2) | st.dictionaries(
                st.text(max_size=4), kids, max_size=2), max_leaves=6)
        return st.dictionaries(keys, inner, max_size=3)
    required = set(node.get("required", ()))
    return st.fixed_dictionaries(
        {k: from_schema(v, root) for k, v in props.items() if k in required},
        optional={k: from_schema(v, root) for k, v in props.items() if k not in required},
    )


def _string(node: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = node.get("minLength", 0), node.get("maxLength", 64)
    if "anyOf" in node:  # the ip formats
        return st.ip_addresses().map(str)
    if node.get("format") == "date-time":  # RFC 3339: Z, z or an offset; T, t or a space
        return st.builds(
            lambda when, sep, zone: when.isoformat(sep=sep).replace("+00:00", zone),
            st.datetimes(datetime(1000, 1, 1), datetime(9000, 1, 1),
                         timezones=st.timezones()).filter(lambda d: d.utcoffset() is not None
                                                          and d.utcoffset().seconds % 60 == 0),
            st.sampled_from("Tt "), st.sampled_from(["Z", "z", "+00:00"]))
    if "pattern" in node and node["pattern"] != r"\S":
        strategy = st.from_regex(node["pattern"], fullmatch=True)
    else:
        strategy = st.text(min_size=max(low, 1 if "pattern" in node else 0),
                           max_size=min(high, 64))
        if "pattern" in node:
            strategy = strategy.filter(lambda t: not t.isspace())
    return strategy.filter(lambda t: low <= len(t) <= high)


def _run(doc: dict[str, Any]) -> Decoded | DeadLetter:
    return decode(json.dumps(doc).encode(), NOW_MS, NOW_MS)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(from_schema(SCHEMA).filter(VALIDATOR.is_valid))
def test_what_the_schema_accepts_the_runtime_routes_unchanged(doc: dict[str, Any]) -> None:
    assume(_fits_int64(doc))
    outcome = _run(doc)
    if isinstance(outcome, DeadLetter):
        assert outcome.reason in BEYOND_THE_SCHEMA, (outcome, doc)
        return
    # A negative value is valid (a refund); it is only kept off ads records.
    assert {w.code for w in outcome.warnings} <= {"value.negative"}, (outcome.warnings, doc)


# Messy input: every field of the contract with values of the right JSON type or not,
# padded with whitespace, in any case; unknown click ids; numbers as strings.
_TEXT = st.text(max_size=40)
_PADDED = st.builds(lambda pad, s, pad2: pad + s + pad2,
                    st.sampled_from(["", " ", "\t", "\n "]),
                    st.one_of(_TEXT, st.sampled_from([
                        "jane@example.com", "https://example.com/p", "10.0.0.1", "::1",
                        "+1 415 555 0100", "us", "DE", "usd", "EUR", "2025-06-15T15:00:00z",
                        "browser", "SignUp", "Purchase", "49.00", "-5", "e-1",
                    ])),
                    st.sampled_from(["", " ", "\r\n"]))
_ANY = st.one_of(_PADDED, st.none(), st.booleans(), st.integers(-(10**15), 10**15),
                 st.floats(allow_nan=False, allow_infinity=False),
                 st.lists(_TEXT, max_size=2), st.dictionaries(_TEXT, _TEXT, max_size=2))
_CLICKS = st.dictionaries(
    st.one_of(st.sampled_from(sorted(CLICK_ID_INPUT_KEYS)), _TEXT),
    st.one_of(_PADDED, st.integers(), st.none()), max_size=3)
_MESSY = st.fixed_dictionaries(
    {"event": st.one_of(st.sampled_from(sorted(TAXONOMY)), _PADDED),
     "eventId": _PADDED, "userId": _PADDED},
    optional={
        **{f: _ANY for f in sorted(FIELDS - {"event", "eventId", "userId", "clickIds"})},
        "clickIds": st.one_of(_CLICKS, _ANY),
        "currency": st.one_of(st.sampled_from(sorted(CURRENCY_CODES)), _PADDED),
        "value": st.one_of(st.floats(-1e6, 1e6), _PADDED),
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(_MESSY)
def test_what_the_runtime_routes_the_schema_accepts(doc: dict[str, Any]) -> None:
    outcome = _run(doc)
    if isinstance(outcome, DeadLetter):
        return
    normalised = outcome.event.model_dump(mode="json", exclude_none=True)
    errors = sorted(VALIDATOR.iter_errors(normalised), key=lambda e: list(e.path))
    assert not errors, (errors[0].message, normalised)


@pytest.mark.parametrize(
    "doc",
    [
        {"event": "SignUp", "eventId": "e-1", "userId": "u", "clickIds": {"fbclid": "abc"}},
        {"event": "Purchase", "eventId": "e-1", "userId": "u", "value": 1, "currency": "USD",
         "timestamp": 1749990000},
        {"event": "SignUp", "eventId": "e-1", "email": "jane@example.com",
         "timestamp": "2025-06-15T15:00:00z"},
    ],
)
def test_cases_the_schema_and_runtime_once_disagreed_on(doc: dict[str, Any]) -> None:
    assert not list(VALIDATOR.iter_errors(doc))
    assert isinstance(_run(doc), Decoded)
