"""The demo's pure parts: the traffic it sends and the counting it shows. No broker."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from rich.console import Console

from eventyard.core import process
from eventyard.demo import summary, view
from eventyard.demo.funnel import Funnel
from eventyard.demo.state import DemoOptions, DemoState
from eventyard.demo.tally import Tally, WorkerMetrics, reconcile
from eventyard.policy import CompiledPolicy
from eventyard.routing.outcome import DeadLetter, Routed
from eventyard.taxonomy import STAGES, TAXONOMY

NOW_MS = 1_750_000_000_000
TOPICS = {"t.raw": "raw", "t.ads": "ads", "t.crm": "crm", "t.wh": "warehouse", "t.dlq": "dlq"}


def test_funnel_is_seeded_and_valid_where_meant(default_policy: CompiledPolicy) -> None:
    records = Funnel(seed=3, run_id="r1").take(3000, NOW_MS)
    assert records == Funnel(seed=3, run_id="r1").take(3000, NOW_MS)
    stages: Counter[str] = Counter()
    for rec in records:
        outcome = process(rec.value, NOW_MS, default_policy, NOW_MS)
        if rec.kind == "malformed":
            assert isinstance(outcome, DeadLetter), rec
        else:
            assert isinstance(outcome, Routed), (outcome, rec.value)
            stages[TAXONOMY[outcome.event].stage] += 1
    assert set(stages) == set(STAGES)  # visitors reach every stage of the funnel


def test_funnel_duplicates_repeat_an_earlier_event_id_under_another_key() -> None:
    funnel = Funnel(seed=5, run_id="r2")
    records = funnel.take(5000, NOW_MS)
    first_key: dict[str, bytes | None] = {}
    moved = 0
    for rec in records:
        if rec.kind == "malformed":
            continue
        event_id = orjson.loads(rec.value)["eventId"]
        if rec.kind == "event":
            assert event_id not in first_key
            first_key[event_id] = rec.key
        else:
            assert event_id in first_key  # a copy always follows its original
            moved += rec.key != first_key[event_id]
    assert funnel.stats.duplicates["server_copy"] > 0 and funnel.stats.duplicates["retry"] > 0
    assert moved == funnel.stats.duplicates["server_copy"]  # server copies keyed by user
    assert funnel.stats.sent == 5000
    assert funnel.stats.milestones["customers"] > 0


@dataclass
class Rec:
    value: bytes | None
    timestamp: int = NOW_MS
    key: bytes | None = None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def out(dest: str, klass: str, name: str, event: str, **extra: object) -> Rec:
    body = {"destination": dest, "class": klass, "name": name, "event": event,
            "policyVersion": "v1", "receivedAt": "2025-06-15T15:06:39.900Z", **extra}
    return Rec(orjson.dumps(body), headers=[("eventyard-destination", dest.encode())])


def filled_tally() -> Tally:
    t = Tally(TOPICS, since_ms=NOW_MS - 10_000)
    t.add_all({
        "t.raw": [Rec(b"x")] * 4 + [Rec(b"old", timestamp=NOW_MS - 60_000)],
        "t.ads": [out("meta", "ads", "CompleteRegistration", "SignUp", user={"email": "ab12"}),
                  out("google", "ads", "sign_up", "SignUp")],
        "t.crm": [out("hubspot", "crm", "sign_up", "SignUp")],
        "t.wh": [out("warehouse", "warehouse", "SignUp", "SignUp",
                     routedTo={"meta": {"status": "sent"}, "reddit": {"status": "skipped",
                                                                       "reason": "too_old"}})],
        "t.dlq": [Rec(b"{", headers=[("eventyard-reason", b"decode.invalid_json")]),
                  Rec(b"{}", headers=[("eventyard-reason", b"contract.event.missing"),
                                      ("eventyard-detail", b"event: required")])],
    })
    return t


def test_tally_counts_topics_and_keeps_telling_samples() -> None:
    t = filled_tally()
    assert t.ignored == 1  # an earlier run's record on a shared broker
    assert dict(t.counts) == {"raw": 4, "ads": 2, "crm": 1, "warehouse": 1, "dlq": 2}
    assert t.routed_events == 1 and t.output_records == 4
    assert t.examples()[0] == ("SignUp", [("meta", "CompleteRegistration"),
                                          ("google", "sign_up"), ("hubspot", "sign_up")])
    assert t.samples["ads"].record is not None and t.samples["ads"].record["destination"] == "meta"
    assert t.samples["dlq"].headers["eventyard-reason"] == "contract.event.missing"
    assert t.latency.quantile(0.5) == 100  # warehouse record time − receivedAt


def metrics_text(duplicates: int = 1, unique: int = 1) -> dict[str, float]:
    return {
        "eventyard_events_consumed_total": 4.0,
        "eventyard_events_unique_total": float(unique),
        "eventyard_duplicates_total": float(duplicates),
        'eventyard_dead_letters_total{reason="decode.invalid_json"}': 1.0,
        'eventyard_dead_letters_total{reason="contract.event.missing"}': 1.0,
        'eventyard_events_routed_total{class="ads",destination="meta"}': 1.0,
        'eventyard_events_routed_total{class="ads",destination="google"}': 1.0,
        'eventyard_events_routed_total{class="crm",destination="hubspot"}': 1.0,
        'eventyard_events_routed_total{class="warehouse",destination="warehouse"}': 1.0,
        'eventyard_policy_info{version="v1"}': 1.0,
        'eventyard_processing_seconds_bucket{le="0.01"}': 2.0,
        'eventyard_processing_seconds_bucket{le="0.1"}': 4.0,
        'eventyard_processing_seconds_bucket{le="+Inf"}': 4.0,
    }


def test_reconcile_agrees_and_names_what_disagrees() -> None:
    t = filled_tally()
    m = WorkerMetrics.from_samples(metrics_text())
    assert m.policy_version == "v1" and m.dead == 2
    assert m.processing_quantile(0.5) == 0.01
    assert abs((m.processing_quantile(0.75) or 0) - 0.055) < 1e-9
    checks = reconcile(4, t, m, sent_duplicates=1, sent_malformed=2)
    assert all(c.ok for c in checks), checks

    off = WorkerMetrics.from_samples(metrics_text(duplicates=0, unique=2))
    failed = {c.name for c in reconcile(4, t, off) if not c.ok}
    assert "consumed = routed events + dead letters + duplicates" in failed
    assert "one warehouse record per routed event" in failed


def test_view_and_summary_render(tmp_path: Path) -> None:
    opts = DemoOptions(events=4, duration=None, rate=10, seed=1, policy=Path("p.yaml"),
                       bootstrap=None)
    funnel = Funnel(seed=1)
    st = DemoState(opts, "r", tmp_path, filled_tally(), funnel.stats, producing_since=1.0,
                   produced=4, phase="routing",
                   topics={r: t for t, r in TOPICS.items()})
    st.metrics = WorkerMetrics.from_samples(metrics_text())
    st.checks = reconcile(4, st.tally, st.metrics)
    console = Console(file=io.StringIO(), width=110)
    console.print(view.live_view(st))
    console.print(summary.render(st))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "SignUp → meta:CompleteRegistration, google:sign_up, hubspot:sign_up" in text
    assert "consumed 4 = routed events 1 + dead letters 2 + duplicates 1" in text
    assert "contract.event.missing" in text
    assert "consumed 4 · routed 1 events → ads 2 crm 1 warehouse 1 · dlq 2" in view.plain_line(st)
    assert summary.to_json(st)["ok"] is True
