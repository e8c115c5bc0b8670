"""Hostile raw input: duplicate keys, integers beyond what JSON consumers hold, nesting past
orjson's limit, and key names that are user data (contract/strictjson.py, codec.py)."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventyard import core
from eventyard.contract import strictjson
from eventyard.contract.codec import decode, peek
from eventyard.policy import CompiledPolicy
from eventyard.routing.outcome import DeadLetter, Routed

NOW_MS = 1_750_000_000_000
HEAD = '{"event":"SignUp","eventId":"e-1","userId":"u-1",'


def outcome(text: str, policy: CompiledPolicy) -> Routed | DeadLetter:
    return core.process(text.encode(), NOW_MS, policy, NOW_MS)


@pytest.mark.parametrize(
    ("tail", "where"),
    [
        ('"consent":{"ads":false},"consent":{"ads":true}}', "consent"),
        ('"consent":{"ads":false,"ads":true}}', "consent.ads"),
        ('"properties":{"plan":"pro","nested":{"a":1,"a":2}}}', "properties.nested.a"),
        ('"properties":{"items":[{"sku":"a"},{"sku":"b","sku":"c"}]}}', "properties.items.1.sku"),
        ('"clickIds":{"gclid":"x","gclid":"y"}}', "clickIds.gclid"),
        ('"event":"Refund"}', "event"),
        # whitespace between a key and its colon must not hide the second copy
        ('"consent" : {"ads":false}, "consent"\n:{"ads":true}}', "consent"),
    ],
)
def test_duplicate_keys_at_any_level_are_dead_letters(
    tail: str, where: str, default_policy: CompiledPolicy
) -> None:
    out = outcome(HEAD + tail, default_policy)
    assert isinstance(out, DeadLetter)
    assert out.reason == "contract.duplicate_key"
    assert out.detail.startswith(f"{where}:")


def test_a_refund_written_over_by_signup_never_reaches_ads(
    default_policy: CompiledPolicy,
) -> None:
    # The last key used to win: a refund went to every ad platform as a SignUp.
    out = outcome('{"event":"Refund","eventId":"e-1","userId":"u-1","event":"SignUp"}',
                  default_policy)
    assert isinstance(out, DeadLetter) and out.reason == "contract.duplicate_key"


def test_duplicate_found_on_the_direct_path_too() -> None:
    value = (HEAD + '"consent":{"ads":false},"consent":{"ads":true}}').encode()
    peeked = peek(value)
    assert peeked is not None  # the eventId is fine; the duplicate is found on decode
    out = decode(value, NOW_MS, NOW_MS, parsed=peeked)
    assert isinstance(out, DeadLetter) and out.reason == "contract.duplicate_key"


@pytest.mark.parametrize(
    "doc",
    [
        # pretty-printed, a `\":` inside a string, a key that ends in a backslash
        json.dumps({"event": "SignUp", "eventId": "e-1", "userId": "u-1",
                    "properties": {"q": 'he said "a": b', "k\\": 1}}, indent=2),
        HEAD + '"properties":{"s":"a\\":b","t":"\\": "}}',
        HEAD + '"properties":{"a":{"a":{"a":1}},"list":[{"a":1},{"a":2}]}}',
    ],
)
def test_unusual_but_unique_keys_route(doc: str, default_policy: CompiledPolicy) -> None:
    assert isinstance(outcome(doc, default_policy), Routed)


json_leaf = st.one_of(st.integers(-(2**70), 2**70), st.text(max_size=8), st.booleans())
json_doc = st.recursive(
    json_leaf,
    lambda kids: st.lists(kids, max_size=3)
    | st.lists(st.tuples(st.sampled_from(["a", "b", 'c":', "d\\"]), kids), max_size=3),
    max_leaves=12,
)


def _render(node: Any, pretty: bool) -> str:
    """JSON text of `node`, where a list of (key, value) pairs renders as an object that
    may repeat keys."""
    sep = '" :' if pretty else '":'
    if isinstance(node, list) and node and all(isinstance(p, tuple) for p in node):
        return "{" + ",".join(json.dumps(k)[:-1] + sep + _render(v, pretty) for k, v in node) + "}"
    if isinstance(node, list):
        return "[" + ",".join(_render(v, pretty) for v in node) + "]"
    return json.dumps(node)


def _has_dup(node: Any) -> bool:
    if isinstance(node, list) and node and all(isinstance(p, tuple) for p in node):
        keys = [k for k, _ in node]
        return len(keys) != len(set(keys)) or any(_has_dup(v) for _, v in node)
    if isinstance(node, list):
        return any(_has_dup(v) for v in node)
    return False


@settings(max_examples=300, deadline=None)
@given(json_doc, st.booleans())
def test_the_cheap_duplicate_check_misses_nothing(node: Any, pretty: bool) -> None:
    text = '{"properties":' + _render(node, pretty) + "}"
    obj = orjson.loads(text)
    problem = strictjson.check(text.encode(), obj)
    found_dup = problem is not None and problem.rule == "duplicate_key"
    assert found_dup == _has_dup(node)


@pytest.mark.parametrize(
    ("tail", "reason"),
    [
        ('"value":9007199254740993,"currency":"USD"}', "contract.value.out_of_range"),
        ('"value":-9007199254740993,"currency":"USD"}', "contract.value.out_of_range"),
        ('"value":123456789012345678901234,"currency":"USD"}', "contract.value.out_of_range"),
        ('"properties":{"n":18446744073709551616}}', "contract.properties.out_of_range"),
        ('"properties":{"n":9223372036854775808}}', "contract.properties.out_of_range"),
        ('"properties":{"list":[1, -9223372036854775809]}}', "contract.properties.out_of_range"),
    ],
)
def test_integers_beyond_the_exact_range_are_refused_never_floated(
    tail: str, reason: str, default_policy: CompiledPolicy
) -> None:
    head = HEAD.replace("SignUp", "Purchase") if "value" in tail else HEAD
    out = outcome(head + tail, default_policy)
    assert isinstance(out, DeadLetter) and out.reason == reason, out


def test_integers_inside_the_range_stay_exact(default_policy: CompiledPolicy) -> None:
    doc = (HEAD.replace("SignUp", "Purchase")
           + '"value":9007199254740992,"currency":"USD",'
           '"properties":{"max":9223372036854775807,"min":-9223372036854775808,'
           '"id":"12345678901234567890123","big":1e300}}')
    out = outcome(doc, default_policy)
    assert isinstance(out, Routed)
    warehouse = next(r for r in out.records if r.klass == "warehouse")
    body = orjson.loads(warehouse.value)
    assert body["properties"]["max"] == 2**63 - 1
    assert body["properties"]["min"] == -(2**63)
    assert b'"value":9007199254740992.0' in warehouse.value


def test_nesting_past_the_parser_limit_is_too_deep_not_invalid_json(
    default_policy: CompiledPolicy,
) -> None:
    doc = HEAD + '"properties":{"a":' + "[" * 3000 + "]" * 3000 + "}}"
    out = outcome(doc, default_policy)
    assert isinstance(out, DeadLetter) and out.reason == "contract.properties.too_deep"


@pytest.mark.parametrize(
    "key", ["jane.doe@example.com", "+1 415 555 0100", "14155550100", "a" * 80, "naïve key"]
)
def test_unknown_keys_that_may_be_user_data_are_counted_not_named(
    key: str, default_policy: CompiledPolicy
) -> None:
    doc = HEAD + json.dumps(key) + ':1,"other key!":2,"consent":{' + json.dumps(key) + ":true}}"
    out = outcome(doc, default_policy)
    assert isinstance(out, DeadLetter) and out.reason == "contract.unknown_field"
    assert key not in out.detail and key[:12] not in out.detail
    assert out.detail.startswith("2 unknown top-level field(s)")


def test_identifier_like_unknown_keys_are_named(default_policy: CompiledPolicy) -> None:
    out = outcome(HEAD + '"eventid":"x","consent":{"marketing":true}}', default_policy)
    assert isinstance(out, DeadLetter)
    assert out.detail.startswith("eventid: unknown top-level field (did you mean 'eventId'?)")
    assert "consent.marketing" in out.detail
