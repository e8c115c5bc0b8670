"""The contract's field rules as pydantic-core runs them (Rust patterns and bounds) mean
what the schema's patterns mean, and failures read as the rule, never as the pattern.

The schema states its patterns for Python's `re` (how the agreement tests and producers'
Python tools read them); pydantic-core runs the runtime's with Rust's regex crate.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field, TypeAdapter

from eventyard.contract import strictjson
from eventyard.contract.codec import Decoded, decode
from eventyard.contract.deadletter import DeadLetter
from eventyard.contract.model import (
    _EMAIL,
    _EMAIL_SCHEMA,
    _URL,
    _URL_SCHEMA,
    _WS,
    RFC3339,
)

NOW_MS = 1_750_000_000_000
BASE: dict[str, Any] = {"event": "SignUp", "eventId": "e-1", "userId": "u-1"}
# Every code point Python's \s takes is below U+3001; a few beyond for good measure.
CODE_POINTS = [chr(c) for c in [*range(0x3001), 0xFEFF, 0x1F600, 0x10FFFF]
               if not 0xD800 <= c <= 0xDFFF]


def _rust(pattern: str) -> Any:
    """A pydantic-core validator of `pattern`, as a field's `pattern=` runs it."""
    return TypeAdapter(Annotated[str, Field(pattern=pattern)]).validator


def _matches(validator: Any, text: str) -> bool:
    try:
        validator.validate_python(text)
    except ValueError:
        return False
    return True


def run(**fields: Any) -> Decoded | DeadLetter:
    doc = {k: v for k, v in {**BASE, **fields}.items() if v is not ...}
    return decode(orjson.dumps(doc), NOW_MS, NOW_MS)


def warnings(outcome: Decoded | DeadLetter) -> set[str]:
    assert isinstance(outcome, Decoded), outcome
    return {w.code for w in outcome.warnings}


# ------------------------------------------------------------------ runtime = schema


def test_the_runtime_whitespace_class_is_python_s() -> None:
    rust = _rust(rf"^[{_WS}]$")
    assert [c for c in CODE_POINTS if _matches(rust, c) != bool(re.fullmatch(r"\s", c))] == []


@pytest.mark.parametrize(
    ("runtime", "schema", "shapes"),
    [
        (_EMAIL, _EMAIL_SCHEMA, ["a{}b@x.io", "ab@x{}.io", "ab@x.{}io", "ab@x.i{}"]),
        (_URL, _URL_SCHEMA, ["https://a{}b", "https://x/{}", "http{}://x", "{}ttps://x"]),
    ],
    ids=["email", "url"],
)
def test_each_character_means_the_same_to_runtime_and_schema(
    runtime: str, schema: str, shapes: list[str]
) -> None:
    rust, python = _rust(runtime), re.compile(schema)
    differ = [
        (shape, hex(ord(c)))
        for shape in shapes
        for c in CODE_POINTS
        if _matches(rust, text := shape.format(c)) != bool(python.fullmatch(text))
    ]
    assert differ == []


_PIECES = st.sampled_from(
    ["a", "Z", "0", "@", ".", "/", "?", "#", ":", "//", "http", "HTTPS", "s", "\u017f", " ",
     "\t", "\x1c", "\x85", "\xa0", "\u3000", "\u2028", "\u200b", "\u00e9", "\u65e5"]
)


@settings(max_examples=400)
@given(st.lists(_PIECES, max_size=10).map("".join))
def test_emails_and_urls_mean_the_same_to_runtime_and_schema(text: str) -> None:
    for runtime, schema in ((_EMAIL, _EMAIL_SCHEMA), (_URL, _URL_SCHEMA)):
        assert _matches(_rust(runtime), text) == bool(re.fullmatch(schema, text)), schema


# ------------------------------------------------------------------ failures name the rule


@pytest.mark.parametrize(
    ("timestamp", "detail"),
    [
        ("yesterday",
         "timestamp: must be RFC 3339 with an offset, or epoch seconds or milliseconds"),
        ("2023-02-29T00:00:00Z", "timestamp: is not a real date and time"),
        ("0001-01-01T00:00:00+01:00", "timestamp: is not a real date and time"),
        (-1, "timestamp: epoch time must not be negative"),
    ],
)
def test_a_bad_timestamp_is_a_format_error_at_the_field(timestamp: Any, detail: str) -> None:
    outcome = run(timestamp=timestamp)
    assert outcome == DeadLetter("contract.timestamp.format", detail)


@pytest.mark.parametrize("timestamp", [1.5, True, [1]])
def test_a_timestamp_of_neither_type_names_both(timestamp: Any) -> None:
    outcome = run(timestamp=timestamp)
    assert isinstance(outcome, DeadLetter) and outcome.reason == "contract.timestamp.type"
    assert outcome.detail.startswith("timestamp.str: ") and "timestamp.int" in outcome.detail


@pytest.mark.parametrize("currency", ["US", "usd1", "ZZZ", "XXX"])
def test_a_money_event_s_currency_detail_states_the_rule(currency: str) -> None:
    outcome = run(event="Purchase", value=1, currency=currency)
    assert outcome == DeadLetter(
        "contract.currency.invalid", "currency: must be an ISO 4217 currency code"
    )


def test_several_problems_still_each_name_their_field() -> None:
    outcome = run(eventId=5, timestamp="yesterday", ip=7, properties={"n": {"n": 1}})
    assert isinstance(outcome, DeadLetter) and outcome.reason == "contract.eventId.type"
    assert outcome.detail.endswith("(+1 more: timestamp)")


# ------------------------------------------------------------------ the values themselves


@pytest.mark.parametrize("ip", ["1.2.3.4", "255.255.255.255", "0.0.0.0", "::1",
                                "2001:db8::1", "::ffff:1.2.3.4", "1::2:3:4:5:6:7"])
def test_ip_addresses_are_kept(ip: str) -> None:
    outcome = run(ip=ip)
    assert isinstance(outcome, Decoded) and outcome.event.ip == ip


@pytest.mark.parametrize(
    "ip",
    [
        "256.1.1.1", "01.2.3.4", "1.2.3", "x", "2001:db8:::1",
        # Not what the schema's ipv4/ipv6 formats take: other scripts' digits, a zone.
        "\u0661.2.3.4", "1.2.3.\u0664", "fe80::1%eth0",
    ],
)
def test_an_unusable_ip_is_dropped(ip: str) -> None:
    assert warnings(run(ip=ip)) == {"ip.invalid"}


def test_a_url_scheme_is_http_or_https_in_any_case_and_nothing_else() -> None:
    assert warnings(run(pageUrl="HTTPS://Example.com/x", referrer="hTtP://a")) == set()
    # U+017F (long s) is "s" to a case-insensitive Python pattern, not to the schema.
    assert warnings(run(pageUrl="http\u017f://example.com")) == {"pageUrl.invalid"}


def test_country_and_currency_are_checked_after_upper_casing() -> None:
    outcome = run(country=" gb", value=1, currency="eur ")
    assert isinstance(outcome, Decoded) and outcome.warnings == ()
    assert (outcome.event.country, outcome.event.currency) == ("GB", "EUR")
    assert warnings(run(country="ZZ")) == {"country.invalid"}


@settings(max_examples=200)
@given(st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=st.timezones()),
       st.sampled_from(["T", "t", " "]))
def test_an_rfc3339_time_is_its_epoch_milliseconds(when: datetime, sep: str) -> None:
    offset = when.utcoffset()
    if offset is None or offset.seconds % 60:
        return  # RFC 3339 offsets are whole minutes
    text = when.isoformat(sep=sep).replace("+00:00", "Z")
    assert re.fullmatch(RFC3339, text)
    outcome = decode(orjson.dumps({**BASE, "timestamp": text}), NOW_MS, 2**62)
    expected = (when - datetime(1970, 1, 1, tzinfo=UTC)) // (when.resolution * 1000)
    assert isinstance(outcome, Decoded) and outcome.event_time_ms == expected


# ------------------------------------------------------------------ strictjson fast path


_INT = st.one_of(st.integers(-(2**70), 2**70),
                 st.sampled_from([2**53 - 1, 2**53, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1,
                                  -(2**63), -(2**63) - 1]))
_LEAF = st.one_of(_INT, st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=4),
                  st.none(), st.booleans())
_KEY = st.sampled_from(["a", "b", 'c":'])
_TREE = st.recursive(_LEAF, lambda kids: st.lists(kids, max_size=3)
                     | st.dictionaries(_KEY, kids, max_size=3), max_leaves=10)


@settings(max_examples=400)
@given(st.fixed_dictionaries({"event": st.just("SignUp")}, optional={
           "value": _INT, "properties": st.dictionaries(_KEY, _TREE, max_size=3), "x": _TREE}),
       st.sampled_from(["compact", "spaced", "dup"]))
def test_the_strict_check_finds_what_a_full_reparse_finds(doc: dict[str, Any], how: str) -> None:
    text = json.dumps(doc, separators=(",", ":") if how != "spaced" else None)
    if how == "dup":
        text = text[:-1] + ',"event":"Again"}'
    value = text.encode()
    assert strictjson.check(value, orjson.loads(value)) == strictjson._slow_check(value)
