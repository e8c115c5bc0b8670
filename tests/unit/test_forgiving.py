"""Producers' everyday mistakes cost no events (docs/reason-codes.md): normalised first,
an unusable optional field dropped with a warning, only what cannot be routed dead-lettered.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from eventyard.contract.model import CURRENCY_CODES, EPOCH_SECONDS_BELOW
from eventyard.contract.reasons import WARNINGS
from eventyard.routing.outcome import DeadLetter, Routed
from eventyard.telemetry import Telemetry

NOW_MS = 1_750_000_000_000
BASE: dict[str, Any] = {"event": "Purchase", "eventId": "p-1", "userId": "user-7f3a",
                        "value": 49.0, "currency": "USD", "timestamp": NOW_MS - 60_000}


def ev(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in {**BASE, **fields}.items() if v is not ...}


def test_currency_case_is_fixed(run: Any, records: Any) -> None:
    outcome = run(ev(currency=" usd"))
    assert isinstance(outcome, Routed) and outcome.warnings == ()
    assert {r["currency"] for r in records(outcome).values()} == {"USD"}


def test_currency_must_be_a_real_iso_4217_code(run: Any) -> None:
    assert "ZZZ" not in CURRENCY_CODES and {"USD", "EUR", "JPY", "CHF"} <= CURRENCY_CODES
    outcome = run(ev(currency="ZZZ"))
    assert isinstance(outcome, DeadLetter) and outcome.reason == "contract.currency.invalid"


def test_a_number_written_as_a_string_is_the_number_with_a_warning(
    run: Any, records: Any
) -> None:
    outcome = run(ev(value="49.00"))
    assert isinstance(outcome, Routed)
    assert [w.code for w in outcome.warnings] == ["value.coerced"]
    assert {r["value"] for r in records(outcome).values()} == {49.0}


@pytest.mark.parametrize("text", ["49,00", "$49", "NaN", "1e999", "0x31"])
def test_a_string_that_is_not_a_number_stays_a_type_error(run: Any, text: str) -> None:
    outcome = run(ev(value=text))
    assert isinstance(outcome, DeadLetter) and outcome.reason == "contract.value.type"


def test_a_negative_purchase_value_never_reaches_an_ad_platform(
    run: Any, records: Any
) -> None:
    outcome = run(ev(value=-49.0))
    assert isinstance(outcome, Routed)
    assert [w.code for w in outcome.warnings] == ["value.negative"]
    by_dest = records(outcome)
    ads = {d: r for d, r in by_dest.items() if r["class"] == "ads"}
    assert ads, "Purchase goes to ad platforms"
    for record in ads.values():
        assert "value" not in record and "currency" not in record
    assert by_dest["warehouse"]["value"] == -49.0 and by_dest["hubspot"]["value"] == -49.0
    assert by_dest["warehouse"]["warnings"] == [{"field": "value", "code": "value.negative"}]


def test_warnings_appear_on_the_warehouse_record_only(run: Any, records: Any) -> None:
    outcome = run(ev(pageUrl="not a url"))
    by_dest = records(outcome)
    assert by_dest["warehouse"]["warnings"] == [{"field": "pageUrl", "code": "pageUrl.invalid"}]
    assert all("warnings" not in r for d, r in by_dest.items() if d != "warehouse")


def test_a_clean_event_has_no_warnings_field(run: Any, records: Any) -> None:
    assert "warnings" not in records(run(ev()))["warehouse"]


# ------------------------------------------------------------------ timestamps


@pytest.mark.parametrize(
    "ts", ["2025-06-15T15:05:00z", "2025-06-15t15:05:00Z", "2025-06-15 17:05:00+02:00",
           "2025-06-15T10:05:00.000-05:00"])
def test_rfc3339_lower_case_z_and_offsets(run: Any, ts: str) -> None:
    outcome = run(ev(timestamp=ts))
    assert isinstance(outcome, Routed)
    assert outcome.event_time_ms == int(datetime(2025, 6, 15, 15, 5, tzinfo=UTC).timestamp()) * 1000


def test_integer_epoch_seconds_are_converted_not_read_as_1970(run: Any, records: Any) -> None:
    seconds = NOW_MS // 1000 - 3600
    # The email gives every ad platform a match key, so nothing is skipped for that either.
    outcome = run(ev(timestamp=seconds, email="jane@example.com"))
    assert isinstance(outcome, Routed) and outcome.event_time_ms == seconds * 1000
    assert outcome.skipped == {}  # not too_old anywhere: it happened an hour ago
    assert records(outcome)["warehouse"]["timestamp"] == "2025-06-15T14:06:40.000Z"


def test_the_seconds_milliseconds_boundary(run: Any) -> None:
    # 10^11 - 1 s is in the year 5138 (a future dead letter); 10^11 ms is March 1973.
    below = run(ev(timestamp=EPOCH_SECONDS_BELOW - 1))
    assert isinstance(below, DeadLetter) and below.reason == "timestamp.future"
    at = run(ev(timestamp=EPOCH_SECONDS_BELOW))
    assert isinstance(at, Routed) and at.event_time_ms == EPOCH_SECONDS_BELOW


# ------------------------------------------------------------------ click ids


def test_fbclid_becomes_fbc_in_meta_s_format(run: Any, records: Any) -> None:
    outcome = run(ev(clickIds={"fbclid": "IwAR2xYz"}))
    assert isinstance(outcome, Routed) and outcome.warnings == ()
    fbc = f"fb.1.{NOW_MS - 60_000}.IwAR2xYz"
    by_dest = records(outcome)
    assert by_dest["meta"]["context"]["clickIds"] == {"fbc": fbc}
    assert by_dest["warehouse"]["context"]["clickIds"] == {"fbc": fbc}


def test_a_given_fbc_wins_over_fbclid(run: Any, records: Any) -> None:
    outcome = run(ev(clickIds={"fbclid": "IwAR2xYz", "fbc": "fb.1.1700000000000.abc"}))
    assert records(outcome)["meta"]["context"]["clickIds"] == {"fbc": "fb.1.1700000000000.abc"}


def test_an_unknown_click_id_is_dropped_not_a_dead_letter(run: Any, records: Any) -> None:
    outcome = run(ev(clickIds={"gclid": "g-1", "yclid": "y-1"}))
    assert isinstance(outcome, Routed)
    assert [w.code for w in outcome.warnings] == ["clickIds.unknown_key"]
    assert records(outcome)["google"]["context"]["clickIds"] == {"gclid": "g-1"}


# ------------------------------------------------------------------ the counter


def test_warnings_are_counted_by_code() -> None:
    registry = CollectorRegistry()
    telemetry = Telemetry(registry)
    for code in WARNINGS:  # every series exists from the start, at zero
        assert registry.get_sample_value("eventyard_warnings_total", {"code": code}) == 0
    telemetry.warnings.labels(code="email.invalid").inc(2)
    assert registry.get_sample_value("eventyard_warnings_total", {"code": "email.invalid"}) == 2


def test_the_worker_tallies_each_warning(default_policy: Any) -> None:
    from aiokafka.structs import ConsumerRecord

    from eventyard.settings import Settings
    from eventyard.worker.dedup import DedupStore
    from eventyard.worker.dispatch import Batch, route_keyed

    settings = Settings()
    value = orjson.dumps(ev(email="bad@@x", pageUrl="nope"))
    rec = ConsumerRecord(settings.topic_keyed, 0, 1, NOW_MS, 0, b"p-1", value, None,
                         len(b"p-1"), len(value), [])
    batch = Batch(now_ms=NOW_MS)
    route_keyed(settings, rec, default_policy, DedupStore(default_policy.dedup_window_ms), batch)
    assert batch.warnings == {"email.invalid": 1, "pageUrl.invalid": 1}
