"""The policy's `aliases:`: names producers already send, routed as canonical events."""

from __future__ import annotations

import textwrap
from typing import Any

import orjson
import pytest

from eventyard.core import admit, process
from eventyard.errors import PolicyError, PolicyProblem
from eventyard.policy import CompiledPolicy, parse_policy
from eventyard.records import RoutedRecord
from eventyard.routing.outcome import Admitted, DeadLetter, Routed

NOW_MS = 1_750_000_000_000
WAREHOUSE = """\
destinations:
  hubspot:
    class: crm
    pii: raw
    events:
      FeatureUsed: feature_used
  warehouse:
    class: warehouse
    pii: raw
    events: all
"""


def policy_with(aliases: str) -> CompiledPolicy:
    text = "version: 1\naliases:\n" + textwrap.indent(textwrap.dedent(aliases), "  ") + WAREHOUSE
    return parse_policy(text.encode(), "routing.yaml")


def problems(aliases: str) -> list[tuple[str, str]]:
    with pytest.raises(PolicyError) as info:
        policy_with(aliases)
    return [(p.path, p.kind) for p in info.value.problems]


def event(name: str, **extra: Any) -> bytes:
    return orjson.dumps({"event": name, "eventId": "e-1", "userId": "u-1", **extra})


def test_an_aliased_name_routes_as_its_canonical_event_and_records_the_sent_name() -> None:
    policy = policy_with("feature_used: FeatureUsed\n")
    out = process(event("feature_used"), NOW_MS, policy, NOW_MS)
    assert isinstance(out, Routed) and out.event == "FeatureUsed"
    assert out.sent_as == "feature_used"
    records = {r.destination: orjson.loads(r.value) for r in out.records}
    assert records["hubspot"]["name"] == "feature_used"
    assert records["warehouse"]["event"] == "FeatureUsed"
    for rec in records.values():
        assert rec["sentAs"] == "feature_used"
        RoutedRecord.model_validate(rec)  # the documented record schema takes the field


def test_without_an_alias_the_near_miss_is_still_dead_lettered() -> None:
    policy = policy_with("signup_completed: SignUp\n")
    out = process(event("feature_used"), NOW_MS, policy, NOW_MS)
    assert isinstance(out, DeadLetter) and out.reason == "taxonomy.unknown_event"


def test_a_canonical_name_carries_no_sent_as() -> None:
    policy = policy_with("feature_used: FeatureUsed\n")
    out = process(event("FeatureUsed"), NOW_MS, policy, NOW_MS)
    assert isinstance(out, Routed) and out.sent_as is None
    assert all(b"sentAs" not in r.value for r in out.records)


def test_aliases_are_compiled_once_into_the_policy() -> None:
    policy = policy_with("feature_used: FeatureUsed\n'event.download_pdf': ContentView\n")
    assert dict(policy.aliases) == {
        "feature_used": "FeatureUsed", "event.download_pdf": "ContentView"
    }


def test_the_first_hop_admits_an_aliased_near_miss() -> None:
    # admit_raw validates fully when the eventId is unusable for a quick peek
    policy = policy_with("feature_used: FeatureUsed\n")
    value = event("feature_used")
    assert isinstance(admit(value, NOW_MS, NOW_MS, aliases=policy.aliases), Admitted)
    assert isinstance(admit(value, NOW_MS, NOW_MS), DeadLetter)


def test_an_alias_of_an_unknown_event_is_an_error() -> None:
    assert problems("feature_used: FeatureUse\n") == [("aliases.feature_used", "unknown_event")]


def test_an_alias_that_shadows_a_canonical_name_is_an_error() -> None:
    assert problems("SignUp: Purchase\n") == [("aliases.SignUp", "alias_shadows")]


def test_a_duplicate_alias_is_an_error() -> None:
    found = problems("feature_used: FeatureUsed\nfeature_used: PageView\n")
    assert found == [("aliases.feature_used", "duplicate_key")]


def test_an_alias_no_producer_could_send_is_an_error() -> None:
    assert problems("'sign up': SignUp\n") == [("aliases.sign up", "bad_alias")]


def test_alias_problems_come_with_the_rest_of_the_file() -> None:
    text = (
        "version: 1\naliases:\n  SignUp: SignUp\ndestinations:\n  warehouse:\n"
        "    class: warehouse\n    pii: raw\n    events: all\n    colour: blue\n"
    )
    with pytest.raises(PolicyError) as info:
        parse_policy(text.encode(), "routing.yaml")
    found: list[PolicyProblem] = info.value.problems
    assert [(p.line, p.kind) for p in found] == [(3, "alias_shadows"), (9, "unknown_key")]
