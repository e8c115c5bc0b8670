"""normalise's fast path (`unchanged`) against the field-by-field pass: the same result
for any top-level object, and `obj` itself exactly when nothing changes."""

from __future__ import annotations

import time
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from eventyard.contract.model import FIELDS
from eventyard.contract.normalise import normalise, normalise_each, unchanged
from eventyard.local.traffic import generate

# Whitespace str.strip removes, including the characters only Python counts (U+001C..1F).
_SPACES = st.sampled_from([" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85",
                           "\xa0", "\u2003", "\u3000", "\u2028"])
_TEXT = st.one_of(
    st.text(max_size=8),
    st.tuples(st.lists(_SPACES, max_size=2), st.text(max_size=6), st.lists(_SPACES, max_size=2))
    .map(lambda t: "".join(t[0]) + t[1] + "".join(t[2])),
    st.sampled_from(["usd", "Usd", "USD", "gb", "GB", "49.00", " 49.00 ", "-5", "1e3", "NaN",
                     "ß", "ı", "ǅ", ""]),
)
_CLICK_KEYS = st.sampled_from(["fbclid", "fbc", "gclid", "ttclid", "unknown", "FBC"])
_VALUE: st.SearchStrategy[Any] = st.one_of(
    _TEXT, st.integers(), st.floats(), st.booleans(), st.none(),
    st.dictionaries(st.one_of(_CLICK_KEYS, st.text(max_size=4)),
                    st.one_of(_TEXT, st.integers(), st.none()), max_size=4),
    st.lists(_TEXT, max_size=3),
)
_KEYS = st.one_of(st.sampled_from(sorted(FIELDS)), st.text(max_size=6))


def _same(obj: dict[str, Any]) -> None:
    fast, fast_warnings = normalise(obj)
    slow, slow_warnings = normalise_each(obj)
    assert fast == slow
    assert fast_warnings == slow_warnings
    assert (fast is obj) == (slow is obj)
    if unchanged(obj):
        assert slow is obj and not slow_warnings


@settings(max_examples=1500)
@given(st.dictionaries(_KEYS, _VALUE, max_size=10))
def test_the_fast_path_gives_the_field_by_field_result(obj: dict[str, Any]) -> None:
    _same(obj)


def test_generated_traffic_takes_the_same_result() -> None:
    now = int(time.time() * 1000)
    for record in generate(3000, now_ms=now):
        try:
            obj = orjson.loads(record.value)
        except orjson.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            _same(obj)
