"""The pure signals core: window transitions, firing decisions, deterministic eventIds,
state through the changelog encoding, and the bound on memory per identity."""

from __future__ import annotations

import orjson
import pytest

from eventyard.policy import CompiledPolicy, parse_policy
from eventyard.signals.derived import Fired, derived_event, signal_event_id
from eventyard.signals.engine import PartitionEngine
from eventyard.signals.observed import Observed, fingerprint, parse_rfc3339_ms
from eventyard.signals.rules import SignalRule, parse_condition

H = 3_600_000
D = 24 * H


def rule(when: str = ">= 3", fire: str = "once_per_window", grace_ms: int = 0,
         name: str = "PQL", events: tuple[str, ...] = ("FeatureUsed",)) -> SignalRule:
    kind, n = parse_condition(when)
    return SignalRule(name, frozenset(events), kind, n, 7 * D, ("userId",), fire,  # type: ignore[arg-type]
                      grace_ms, when, "7d")


def obs(t: int, user: str = "u-1", event: str = "FeatureUsed", eid: str | None = None) -> Observed:
    return Observed("warehouse", event, fingerprint(eid or f"{user}-{event}-{t}"), t,
                    {"userId": user})


def run(engine: PartitionEngine, events: list[Observed]) -> list[Fired]:
    return [f for o in events for f in engine.observe(o)]


@pytest.mark.parametrize(("text", "parsed"), [
    (">= 3", ("at_least", 3)), (">=1", ("at_least", 1)), ("> 0", ("at_least", 1)),
    ("> 2", ("at_least", 3)), ("= 0", ("none", 0)),
])
def test_conditions(text: str, parsed: tuple[str, int]) -> None:
    assert parse_condition(text) == parsed


@pytest.mark.parametrize("text", ["= 2", ">= 0", "< 3", "3", ">= 1001", "at least 3"])
def test_bad_conditions(text: str) -> None:
    with pytest.raises(ValueError):
        parse_condition(text)


def test_at_least_fires_once_per_window_then_again_in_the_next() -> None:
    e = PartitionEngine([rule()])
    fired = run(e, [obs(0), obs(1 * D), obs(2 * D), obs(3 * D), obs(5 * D)])
    assert [(f.rule, f.identity, f.time_ms, f.count) for f in fired] == [("PQL", "u-1", 2 * D, 3)]
    # Still three uses in the week ending 9 d + 1 h, and a window has passed since 2 d.
    fired = run(e, [obs(9 * D + H)])
    assert [f.time_ms for f in fired] == [9 * D + H]


def test_every_crossing_fires_each_time_the_count_rises_to_the_threshold() -> None:
    e = PartitionEngine([rule(fire="every_crossing")])
    fired = run(e, [obs(0), obs(1 * D), obs(2 * D), obs(3 * D)])
    assert [f.time_ms for f in fired] == [2 * D]  # 3 d: still above, no new crossing
    # 20 d: the count fell to 1; two more uses cross again.
    fired = run(e, [obs(20 * D), obs(20 * D + H), obs(20 * D + 2 * H)])
    assert [f.time_ms for f in fired] == [20 * D + 2 * H]


def test_a_repeated_event_id_counts_once_and_late_events_outside_the_window_not_at_all() -> None:
    e = PartitionEngine([rule()])
    assert run(e, [obs(10 * D, eid="a"), obs(10 * D, eid="a"), obs(2 * D, eid="old")]) == []
    assert run(e, [obs(10 * D + H, eid="b")]) == []  # two distinct uses in the window
    assert len(run(e, [obs(9 * D, eid="late-but-inside")])) == 1


def test_identities_are_counted_apart_and_other_events_do_not_count() -> None:
    e = PartitionEngine([rule()])
    assert run(e, [obs(0, "a"), obs(1, "b"), obs(2, "a", "PageView"), obs(3, "b")]) == []
    assert [f.identity for f in run(e, [obs(4, "b")])] == ["b"]


def test_memory_per_identity_is_bounded_by_the_threshold() -> None:
    e = PartitionEngine([rule(">= 5", fire="every_crossing")])
    run(e, [obs(i * 1000) for i in range(10_000)])
    (state,) = e.states.values()
    assert len(state.encode()[3]) == 5  # type: ignore[arg-type]


def test_silence_fires_when_the_partition_watermark_passes_the_deadline() -> None:
    quiet = rule("= 0", grace_ms=H, name="Quiet")
    e = PartitionEngine([quiet])
    assert run(e, [obs(0, "stopped"), obs(1 * D, "active"), obs(6 * D, "active")]) == []
    assert run(e, [obs(7 * D + H - 1, "active")]) == []  # inside the grace
    fired = run(e, [obs(7 * D + H, "active")])
    assert [(f.rule, f.identity, f.time_ms, f.count) for f in fired] == [
        ("Quiet", "stopped", 7 * D, 0)]
    assert run(e, [obs(13 * D, "active")]) == []  # fired once; active kept using features


def test_silence_is_cancelled_by_a_counted_event_and_fired_by_a_late_own_event() -> None:
    quiet = rule("= 0", name="Quiet")
    e = PartitionEngine([quiet])
    run(e, [obs(0, "u"), obs(6 * D, "u", "PageView")])  # a page view does not reset it
    fired = run(e, [obs(8 * D, "u", "PageView")])  # its own later event shows the silence
    assert [f.time_ms for f in fired] == [7 * D]
    # The page view at 8 d opened a new window; a use at 9 d moves its deadline to 16 d.
    assert run(e, [obs(9 * D, "u"), obs(15 * D, "other")]) == []
    assert [f.time_ms for f in e.advance(16 * D)] == [16 * D]


def test_derived_events_are_ignored_as_input() -> None:
    e = PartitionEngine([rule("= 0", name="Quiet")])
    assert run(e, [obs(0, "u", "Quiet")]) == []
    assert len(e) == 0


def test_event_ids_are_deterministic_per_rule_identity_and_window() -> None:
    a = signal_event_id("PQL", "userId", "u-1", 5)
    assert a == signal_event_id("PQL", "userId", "u-1", 5)
    assert len({a, signal_event_id("PQL", "userId", "u-1", 6),
                signal_event_id("PQL", "userId", "u-2", 5),
                signal_event_id("Other", "userId", "u-1", 5)}) == 4
    key, value = derived_event(rule(), Fired("PQL", "userId", "u-1", 2 * D, 3, -5 * D))
    body = orjson.loads(value)
    assert key.decode() == body["eventId"] and body["eventId"].startswith("sig-")
    assert body["userId"] == "u-1" and body["timestamp"] == "1970-01-03T00:00:00.000Z"
    assert body["properties"]["rule"] == "PQL" and body["properties"]["count"] == 3


def _reload(log: list[tuple[bytes, bytes | None]], engine: PartitionEngine,
            rules: list[SignalRule]) -> PartitionEngine:
    """Append the engine's changes to the changelog `log`, and restore from all of it."""
    log += engine.take_changes()
    restored = PartitionEngine(rules)
    for key, value in log:
        restored.load(key, value)
    restored.restored()
    return restored


def test_state_survives_the_changelog_and_a_replay_fires_nothing_new() -> None:
    rules = [rule(), rule("= 0", name="Quiet")]
    log: list[tuple[bytes, bytes | None]] = []
    e = PartitionEngine(rules)
    e.offset = 42
    run(e, [obs(0, "a"), obs(1 * D, "a"), obs(0, "b")])
    restored = _reload(log, e, rules)
    assert restored.offset == 42 and restored.watermark == 1 * D
    assert restored.states == e.states
    fired = run(restored, [obs(2 * D, "a")])
    assert [f.identity for f in fired] == ["a"]
    # The same input again (a crash after the state was written) fires nothing.
    again = _reload(log, restored, rules)
    assert run(again, [obs(0, "a"), obs(1 * D, "a"), obs(2 * D, "a")]) == []
    # The deadline of b's silence survives too.
    assert [(f.rule, f.identity) for f in again.advance(8 * D)] == [("Quiet", "b")]


def test_idle_windows_are_evicted_as_tombstones() -> None:
    rules = [rule()]
    e = PartitionEngine(rules)
    run(e, [obs(0, "a"), obs(30 * D, "b")])
    e.take_changes()
    assert e.evict() == 1 and set(k[2] for k in e.states) == {"b"}
    changes = dict(e.take_changes())
    assert changes[b"PQL\x1fuserId\x1fa"] is None


def test_rfc3339_parsing_matches_the_router() -> None:
    assert parse_rfc3339_ms("2026-11-22T12:00:00.123Z") == 1_795_348_800_123
    assert parse_rfc3339_ms("2026-11-22T12:00:00+00:00") == 1_795_348_800_000


POLICY = b"""
version: 1
destinations:
  hubspot: {class: crm, pii: raw, events: {SignUp: sign_up}}
  warehouse: {class: warehouse, pii: raw, events: all}
  meta: {class: ads, pii: sha256, events: {SignUp: CompleteRegistration}}
signals:
%s
"""


def load(signals: str) -> CompiledPolicy:
    return parse_policy(POLICY % signals.encode(), "p.yaml")


def problems(signals: str) -> list[str]:
    from eventyard.errors import PolicyError
    with pytest.raises(PolicyError) as info:
        load(signals)
    return [p.render() for p in info.value.problems]


def test_a_signal_routes_to_the_warehouse_and_crms_by_default_or_where_send_to_says() -> None:
    p = load("  ProductQualifiedLead: {events: [FeatureUsed], when: '>= 3', within: 7d}")
    assert {r.destination: r.name for r in p.routes["ProductQualifiedLead"]} == {
        "hubspot": "product_qualified_lead", "warehouse": "ProductQualifiedLead"}
    assert p.signals_source == "warehouse"
    p = load("  Pql: {events: [FeatureUsed], when: '>= 3', within: 7d, send_to: {meta: Pql}}")
    assert {r.destination for r in p.routes["Pql"]} == {"meta", "warehouse"}


def test_signal_problems_name_file_line_and_path() -> None:
    found = problems(
        "  SignUp: {events: [FeatureUsed], when: '>= 3', within: 7d}\n"
        "  Pql: {events: [FeatureUsd], when: '= 2', within: 7d}\n"
        "  Anon: {events: [FeatureUsed], when: '> 0', within: 7d, per: [anonymousId]}\n"
        "  Sent: {events: [PageView], when: '> 0', within: 7d, send_to: {nope: x}}\n"
    )
    assert any(p.startswith("p.yaml:8: signals.SignUp:") and "canonical" in p for p in found)
    assert any(p.startswith("p.yaml:9: signals.Pql.when:") and "'=' takes 0" in p
               for p in found)
    assert any(p.startswith("p.yaml:10: signals.Anon.per:") and "prefix" in p for p in found)
    assert any(p.startswith("p.yaml:11: signals.Sent.send_to.nope:") for p in found)


def test_explain_shows_which_signals_count_an_event_and_which_derive_it() -> None:
    from pathlib import Path

    from eventyard.commands.explain import explain_with
    from eventyard.policy import load_policy

    policy = load_policy(Path(__file__).resolve().parents[2] / "config" / "routing.yaml")
    used = explain_with(b'{"event":"FeatureUsed","eventId":"e-1","userId":"u-1"}', policy, 0)
    assert [c.split(":")[0] for c in used["countedBy"]] == ["ProductQualifiedLead",
                                                             "TrialGoneQuiet"]
    pql = explain_with(b'{"event":"ProductQualifiedLead","eventId":"sig-1","userId":"u-1"}',
                       policy, 0)
    assert pql["derivedBy"].startswith("ProductQualifiedLead: FeatureUsed >= 3 within 7d")
    assert {r["value"]["destination"] for r in pql["records"]} == {
        "warehouse", "hubspot", "salesforce"}
