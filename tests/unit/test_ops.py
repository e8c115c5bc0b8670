"""The ops tools' pure parts: time bounds, filters, PII masking, the metrics parser and
merge behind `eventyard top`."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest
from aiokafka.structs import ConsumerRecord

from eventyard.demo.tally import WorkerMetrics
from eventyard.errors import ConfigError
from eventyard.ops.masking import MASK, shown_key, shown_value
from eventyard.ops.roles import resolve
from eventyard.ops.scan import Record, Start, parse_start
from eventyard.ops.top import metrics_url, parse
from eventyard.ops.views import Filter, view_of
from eventyard.ops.window import Window, parse_when, window_from
from eventyard.settings import Settings

NOW = 1_800_000_000_000
HASH = "a" * 64


def rec(value: bytes | None, key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None) -> Record:
    return ConsumerRecord("t", 0, 7, NOW, 0, key, value, None, 0, 0, headers or [])


def test_when_takes_durations_times_and_now() -> None:
    assert parse_when("2h", NOW, flag="--since") == NOW - 7_200_000
    assert parse_when("now", NOW, flag="--since") == NOW
    assert parse_when("2027-01-15T08:00:00Z", NOW, flag="--since") == NOW
    assert parse_when("2027-01-15T08:00:00", NOW, flag="--since") == NOW
    with pytest.raises(ConfigError, match="--since 'yesterday'"):
        parse_when("yesterday", NOW, flag="--since")
    with pytest.raises(ConfigError, match="--since is after --until"):
        window_from("1h", "2h", NOW)
    w = Window(NOW - 10, NOW)
    assert w.contains(NOW) and not w.contains(NOW + 1) and not w.contains(NOW - 11)
    assert Window().describe() == "the beginning → now"


def test_start_and_roles() -> None:
    assert parse_start("beginning") == Start("beginning")
    assert parse_start("42") == Start("offset", 42)
    assert parse_start("10m") is None  # a time
    s = Settings(bootstrap_servers="x:1", topic_dlq="prod.dlq")
    assert resolve(s, "dlq") == ("dlq", "prod.dlq")
    assert resolve(s, "prod.dlq") == ("dlq", "prod.dlq")
    with pytest.raises(ConfigError, match="unknown topic 'dql'"):
        resolve(s, "dql")


def test_filters() -> None:
    routed = view_of("warehouse", rec(orjson.dumps({
        "destination": "warehouse", "class": "warehouse", "event": "SignUp", "eventId": "e-1",
        "routedTo": {"meta": {"status": "skipped", "reason": "no_consent"}}})))
    dead = view_of("dlq", rec(b'{"event":"Purchase","eventId":"e-2"}', headers=[
        ("eventyard-reason", b"contract.currency.missing")]))
    assert Filter.of(event_id=["e-1"]).matches(routed)
    assert not Filter.of(event_id=["e-1"]).matches(dead)
    assert Filter.of(event=["Purchase", "SignUp"]).matches(dead)
    assert Filter.of(klass=["warehouse"], destination=["warehouse"]).matches(routed)
    assert not Filter.of(klass=["ads"]).matches(routed)
    assert Filter.of(reason=["contract.currency.missing"]).matches(dead)
    assert Filter.of(reason=["no_consent"]).matches(routed)  # a skip reason in routedTo
    assert not Filter.of(reason=["no_consent"], event_id=["e-2"]).matches(dead)
    assert Filter().matches(dead) and Filter().matches(routed)


def test_masking_hides_raw_pii_keeps_ids_and_hashes() -> None:
    raw = {"event": "SignUp", "eventId": "e-1", "userId": "u-1", "email": "jane@x.io",
           "phone": "+4915112345678", "ip": "10.1.2.3", "properties": {"plan": "pro"}}
    v = view_of("dlq", rec(orjson.dumps(raw), key=b"e-1"))
    shown = shown_value(v, show_pii=False)
    assert shown == {**raw, "email": MASK, "phone": MASK, "ip": MASK}
    assert shown_value(v, show_pii=True) == raw
    assert shown_key(v, show_pii=False) == "e-1"
    keyed_by_email = view_of("raw", rec(orjson.dumps(raw), key=b"jane@x.io"))
    assert shown_key(keyed_by_email, show_pii=False) == MASK
    assert shown_key(keyed_by_email, show_pii=True) == "jane@x.io"

    crm = {"destination": "hubspot", "user": {"userId": "u-1", "email": "jane@x.io",
                                               "phone": HASH}, "context": {"ip": "10.1.2.3"}}
    v = view_of("crm", rec(orjson.dumps(crm), key=b"u-1"))
    assert shown_value(v, show_pii=False) == {
        "destination": "hubspot", "user": {"userId": "u-1", "email": MASK, "phone": HASH},
        "context": {"ip": MASK}}
    ads = view_of("ads", rec(orjson.dumps(crm)))
    assert shown_value(ads, show_pii=False) == crm  # ads carry hashes only: shown as is

    garbage = view_of("dlq", rec(b"email=jane@x.io"))
    hidden = shown_value(garbage, show_pii=False)
    assert isinstance(hidden, str) and "jane" not in hidden and "15 bytes" in hidden
    assert shown_value(garbage, show_pii=True) == "email=jane@x.io"


METRICS = """\
# TYPE eventyard_events_consumed_total counter
eventyard_events_consumed_total {consumed}
eventyard_events_unique_total {unique}
eventyard_duplicates_total 1.0
eventyard_dead_letters_total{{reason="decode.invalid_json"}} 1.0
eventyard_events_routed_total{{destination="meta",class="ads"}} {meta}
eventyard_consumer_lag{{topic="eventyard.raw",partition="0"}} 3.0
eventyard_policy_info{{version="{version}"}} 1.0
"""


def test_top_parses_and_adds_up_workers() -> None:
    a = WorkerMetrics.from_samples(parse(METRICS.format(consumed=10, unique=8, meta=5,
                                                        version="v1")))
    b = WorkerMetrics.from_samples(parse(METRICS.format(consumed=4, unique=2, meta=1,
                                                        version="v1")))
    assert (a.consumed, a.unique, a.routed, a.classes, a.lag, a.policy_version) == (
        10, 8, Counter({"meta": 5}), {"meta": "ads"}, 3, "v1")
    both = WorkerMetrics.merged([a, b])
    assert (both.consumed, both.unique, both.duplicates, both.dead, both.lag) == (14, 10, 2, 2, 6)
    assert both.routed == Counter({"meta": 6}) and both.policy_version == "v1"
    skewed = WorkerMetrics.from_samples(parse(METRICS.format(consumed=1, unique=1, meta=0,
                                                             version="v2")))
    assert WorkerMetrics.merged([a, skewed]).policy_version is None
    assert metrics_url("127.0.0.1:9108") == "http://127.0.0.1:9108/metrics"
    assert metrics_url("http://w1:9108/metrics") == "http://w1:9108/metrics"
