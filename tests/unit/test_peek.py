"""peek: the first hop's cheap dedup key. It may only return an eventId that full
validation would accept as an eventId; anything else must fall back to full validation."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventyard.contract.codec import DEFAULT_MAX_EVENT_BYTES, peek
from eventyard.core import admit, process
from eventyard.local.traffic import generate
from eventyard.policy import CompiledPolicy, load_policy
from eventyard.routing.outcome import Admitted

NOW = 1_750_000_000_000


def peek_event_id(value: bytes | None, max_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> str | None:
    peeked = peek(value, max_bytes)
    return peeked.event_id if peeked is not None else None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b'{"event": "SignUp", "eventId": "e-1", "userId": "u"}', "e-1"),
        (b'{"event": "SignUp", "eventId": "e-1", "email": "broken"}', "e-1"),  # rest unchecked
        (b'{"event": "SignUp", "userId": "u"}', None),
        (b'{"eventId": "has space"}', None),
        (b'{"eventId": "e-1\\n"}', None),  # `$` alone would accept the trailing newline
        (b'{"eventId": ""}', None),
        (b'{"eventId": 17}', None),
        (orjson.dumps({"eventId": "k" * 129}), None),
        (b'["eventId"]', None),
        (b'{"eventId": ', None),
        (b"", None),
        (None, None),
    ],
)
def test_peek(value: bytes | None, expected: str | None) -> None:
    assert peek_event_id(value) == expected


def test_peek_respects_the_size_limit() -> None:
    value = b'{"eventId": "e-1"}'
    assert peek_event_id(value, max_bytes=len(value)) == "e-1"
    assert peek_event_id(value, max_bytes=len(value) - 1) is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=140))
def test_a_peeked_id_is_the_id_full_validation_admits(event_id: str) -> None:
    value = orjson.dumps({"event": "SignUp", "eventId": event_id, "userId": "u"})
    peeked = peek_event_id(value)
    result = admit(value, NOW, NOW)
    if peeked is not None:
        assert result == Admitted(peeked)
    else:  # surrounding whitespace is trimmed; the trimmed id is the key
        assert not isinstance(result, Admitted) or result.event_id == event_id.strip() != event_id


@pytest.fixture(scope="module")
def policy() -> CompiledPolicy:
    return load_policy(Path(__file__).resolve().parents[2] / "config" / "routing.yaml")


def test_routing_a_peeked_document_equals_routing_the_bytes(policy: CompiledPolicy) -> None:
    """The direct path hands the document peek parsed to process(): every outcome, dead
    letters included, must be what parsing the bytes again would give."""
    records = list(generate(3000, seed=11, now_ms=NOW, invalid_ratio=0.2))
    peeked_any = 0
    for rec in records:
        peeked = peek(rec.value)
        if peeked is None:
            continue
        peeked_any += 1
        assert process(rec.value, NOW, policy, NOW, parsed=peeked) == process(
            rec.value, NOW, policy, NOW
        )
    assert peeked_any > 2000


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x2FF), max_size=130))
def test_the_peeked_id_rule_is_the_models_pattern(event_id: str) -> None:
    value = orjson.dumps({"eventId": event_id})
    assert (peek_event_id(value) is not None) == (
        re.fullmatch(r"[!-~]{1,128}", event_id) is not None
    )
