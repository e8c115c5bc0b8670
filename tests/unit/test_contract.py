"""The raw event contract v1 and its closed list of dead-letter reasons.

Every code in contract.reasons.REASONS is produced by a concrete input through
core.process; a code added without a row here fails `test_table_covers_every_reason`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from eventyard import core
from eventyard.contract.reasons import FIELD_RULES, REASONS, WARNINGS
from eventyard.policy import CompiledPolicy
from eventyard.routing.outcome import Admitted, DeadLetter, Routed

NOW_MS = 1_750_000_000_000  # the conftest `now_ms` (checked in test_now_is_shared)

BASE: dict[str, Any] = {"event": "SignUp", "eventId": "evt-0001", "userId": "user-7f3a"}


def ev(**fields: Any) -> bytes:
    """BASE with `fields` applied; a field set to ... is removed."""
    obj = {**BASE, **fields}
    return orjson.dumps({k: v for k, v in obj.items() if v is not ...})


def raw(text: str) -> bytes:
    return text.encode()


def deep(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        node = {"n": node}
    return node


FUTURE_MS = NOW_MS + 10 * 60 * 1000
BAD_EMAIL = "not-an-email@@x"

# code -> raw bytes that must dead-letter with exactly that code.
CASES: list[Any] = [
    pytest.param("size.too_large", ev(properties={"blob": "x" * 70_000}), id="size.too_large"),
    pytest.param("decode.empty", b"", id="decode.empty"),
    pytest.param("decode.not_utf8", b'{"event": "Sign\xffUp"}', id="decode.not_utf8"),
    pytest.param("decode.invalid_json", b'{"event": "SignUp",}', id="decode.invalid_json"),
    pytest.param("decode.not_object", b'[{"event": "SignUp"}]', id="decode.not_object"),
    pytest.param("contract.unknown_field", ev(eventid="evt-0002"), id="contract.unknown_field"),
    pytest.param("contract.identity.missing", ev(userId=...), id="contract.identity.missing"),
    pytest.param("taxonomy.unknown_event", ev(event="signup"), id="taxonomy.unknown_event"),
    pytest.param("taxonomy.value.missing", ev(event="Purchase", currency="USD"),
                 id="taxonomy.value.missing"),
    pytest.param("timestamp.future", ev(timestamp=FUTURE_MS), id="timestamp.future"),
    # event
    pytest.param("contract.event.missing", ev(event=...), id="contract.event.missing"),
    pytest.param("contract.event.type", ev(event=7), id="contract.event.type"),
    pytest.param("contract.event.empty", ev(event=""), id="contract.event.empty"),
    pytest.param("contract.event.too_long", ev(event="A" * 256), id="contract.event.too_long"),
    pytest.param("contract.event.format", ev(event="Sign Up"), id="contract.event.format"),
    # eventId
    pytest.param("contract.eventId.missing", ev(eventId=...), id="contract.eventId.missing"),
    pytest.param("contract.eventId.type", ev(eventId=12345), id="contract.eventId.type"),
    pytest.param("contract.eventId.empty", ev(eventId=""), id="contract.eventId.empty"),
    pytest.param("contract.eventId.too_long", ev(eventId="k" * 129),
                 id="contract.eventId.too_long"),
    pytest.param("contract.eventId.format", ev(eventId="evt 0001"), id="contract.eventId.format"),
    # timestamp
    pytest.param("contract.timestamp.type", ev(timestamp=1.5), id="contract.timestamp.type"),
    pytest.param("contract.timestamp.format", ev(timestamp="2024-06-01"),
                 id="contract.timestamp.format"),
    # identity ids: a wrong type or length is a dead letter, an empty one is dropped
    *[
        pytest.param(f"contract.{f}.{rule}",
                     ev(**{"userId": ..., "email": "a@example.com", f: val}),
                     id=f"contract.{f}.{rule}")
        for f in ("userId", "anonymousId", "externalId")
        for rule, val in (("type", 42), ("too_long", "i" * 256))
    ],
    pytest.param("contract.consent.type", ev(consent=True), id="contract.consent.type"),
    pytest.param("contract.consent.unknown_key", ev(consent={"marketing": True}),
                 id="contract.consent.unknown_key"),
    pytest.param("contract.consent.value_type", ev(consent={"ads": "yes"}),
                 id="contract.consent.value_type"),
    # value and currency of a money event
    pytest.param("contract.value.type", ev(event="Purchase", value="49,50", currency="USD"),
                 id="contract.value.type"),
    pytest.param("contract.currency.type", ev(event="Purchase", value=1, currency=840),
                 id="contract.currency.type"),
    pytest.param("contract.currency.invalid", ev(event="Purchase", value=1, currency="ZZZ"),
                 id="contract.currency.invalid"),
    pytest.param("contract.currency.missing", ev(event="Purchase", value=10),
                 id="contract.currency.missing"),
    pytest.param("contract.properties.too_deep", ev(properties=deep(9)),
                 id="contract.properties.too_deep"),
    pytest.param("contract.duplicate_key",
                 raw('{"event":"SignUp","eventId":"e-1","userId":"u-1",'
                     '"consent":{"ads":false},"consent":{"ads":true}}'),
                 id="contract.duplicate_key"),
    pytest.param("contract.value.out_of_range",
                 raw('{"event":"Purchase","eventId":"e-1","userId":"u-1",'
                     '"value":9007199254740993,"currency":"USD"}'),
                 id="contract.value.out_of_range"),
    pytest.param("contract.properties.out_of_range",
                 raw('{"event":"SignUp","eventId":"e-1","userId":"u-1",'
                     '"properties":{"n":123456789012345678901234}}'),
                 id="contract.properties.out_of_range"),
]

# code -> raw bytes that must route, with exactly that warning.
WARNING_CASES: list[Any] = [
    pytest.param("source.invalid", ev(source="website"), id="source.invalid"),
    *[
        pytest.param(f"{f}.empty", ev(**{f: "  "}), id=f"{f}.empty")
        for f in ("anonymousId", "externalId")
    ],
    pytest.param("userId.empty", ev(userId="", anonymousId="anon-1"), id="userId.empty"),
    pytest.param("email.type", ev(email=["a@example.com"]), id="email.type"),
    pytest.param("email.too_long", ev(email="m" * 310 + "@example.com"), id="email.too_long"),
    pytest.param("email.invalid", ev(email=BAD_EMAIL), id="email.invalid"),
    pytest.param("phone.type", ev(phone=4155550123), id="phone.type"),
    pytest.param("phone.too_long", ev(phone="1" * 33), id="phone.too_long"),
    pytest.param("phone.invalid", ev(phone="call me maybe"), id="phone.invalid"),
    *[
        pytest.param(f"{f}.{rule}", ev(**{f: val}), id=f"{f}.{rule}")
        for f in ("firstName", "lastName", "city", "state", "zip", "companyDomain")
        for rule, val in (("type", 3), ("too_long", "z" * 256))
    ],
    pytest.param("country.type", ev(country=840), id="country.type"),
    pytest.param("country.invalid", ev(country="QQ"), id="country.invalid"),
    *[
        pytest.param(f"{f}.{rule}", ev(**{f: val}), id=f"{f}.{rule}")
        for f in ("pageUrl", "referrer")
        for rule, val in (
            ("type", {"href": "https://example.com"}),
            ("too_long", "https://example.com/" + "p" * 2048),
            ("invalid", "ftp://example.com/file"),
        )
    ],
    pytest.param("ip.type", ev(ip=16909060), id="ip.type"),
    pytest.param("ip.invalid", ev(ip="300.1.2.3"), id="ip.invalid"),
    pytest.param("userAgent.type", ev(userAgent=False), id="userAgent.type"),
    pytest.param("userAgent.too_long", ev(userAgent="U" * 1025), id="userAgent.too_long"),
    pytest.param("clickIds.type", ev(clickIds="gclid=abc"), id="clickIds.type"),
    pytest.param("clickIds.unknown_key", ev(clickIds={"gclid": "g-1", "utm_source": "x"}),
                 id="clickIds.unknown_key"),
    pytest.param("clickIds.value_type", ev(clickIds={"gclid": 123}), id="clickIds.value_type"),
    pytest.param("clickIds.empty", ev(clickIds={"gclid": " "}), id="clickIds.empty"),
    pytest.param("value.type", ev(value=True, currency="USD"), id="value.type"),
    pytest.param("value.coerced", ev(event="Purchase", value="49.00", currency="USD"),
                 id="value.coerced"),
    pytest.param("value.negative", ev(event="Purchase", value=-49.0, currency="USD"),
                 id="value.negative"),
    pytest.param("currency.type", ev(value=1, currency=840), id="currency.type"),
    pytest.param("currency.invalid", ev(value=1, currency="ZZZ"), id="currency.invalid"),
    pytest.param("currency.missing", ev(value=10), id="currency.missing"),
    pytest.param("properties.type", ev(properties=["a", "b"]), id="properties.type"),
]

# Codes that no well-formed input can produce; each has its own test below.
PRODUCED_ELSEWHERE = {"internal.error": "test_internal_error_is_a_dead_letter_not_a_crash"}


def _code(param: Any) -> str:
    return str(param.values[0])


def test_warning_table_covers_every_warning() -> None:
    table = [_code(p) for p in WARNING_CASES]
    assert len(table) == len(set(table)), "a code appears twice in WARNING_CASES"
    assert set(table) == set(WARNINGS), (
        f"missing a producing input: {sorted(set(WARNINGS) - set(table))}; "
        f"not in WARNINGS: {sorted(set(table) - set(WARNINGS))}"
    )


@pytest.mark.parametrize(("code", "value"), WARNING_CASES)
def test_warning_is_produced_and_the_event_routed(
    code: str, value: bytes, default_policy: CompiledPolicy
) -> None:
    outcome = core.process(value, NOW_MS, default_policy, NOW_MS)
    assert isinstance(outcome, Routed), f"{code}: dead-lettered: {outcome}"
    assert code in {w.code for w in outcome.warnings}, outcome.warnings
    [wh] = [orjson.loads(r.value) for r in outcome.records if r.klass == "warehouse"]
    assert {"field": code.split(".")[0], "code": code} in wh["warnings"]
    # A warning names the field, never its value.
    for text in _strings(orjson.loads(value)):
        if len(text) >= 3:
            assert text not in orjson.dumps(wh["warnings"]).decode()


def test_table_covers_every_reason() -> None:
    table = [_code(p) for p in CASES]
    assert len(table) == len(set(table)), "a code appears twice in CASES"
    covered = set(table) | set(PRODUCED_ELSEWHERE)
    assert covered == set(REASONS), (
        f"missing a producing input: {sorted(set(REASONS) - covered)}; "
        f"not in REASONS: {sorted(covered - set(REASONS))}"
    )


def _strings(value: Any) -> list[str]:
    """Every string value (not key) in a JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_now_is_shared(now_ms: int) -> None:
    assert now_ms == NOW_MS


@pytest.mark.parametrize(("code", "value"), CASES)
def test_reason_is_produced(code: str, value: bytes, default_policy: CompiledPolicy) -> None:
    outcome = core.process(value, NOW_MS, default_policy, NOW_MS)
    assert isinstance(outcome, DeadLetter), f"{code}: routed instead of dead-lettered"
    assert outcome.reason == code, outcome.detail
    assert outcome.detail and len(outcome.detail) < 400
    if code.startswith("contract.") and code.count(".") == 2:
        field = code.split(".")[1]
        assert outcome.detail.startswith(field), f"detail does not name {field}: {outcome.detail}"
    # The detail never echoes a value (event names are not user data: details may say
    # "required for Purchase events" or "did you mean 'SignUp'?").
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        doc = None
    for text in _strings(doc):
        if isinstance(doc, dict) and text == doc.get("event"):
            continue
        if len(text) >= 3:
            assert text not in outcome.detail, f"{code}: detail echoes the value {text[:20]!r}"


def test_internal_error_is_a_dead_letter_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, run: Any, make_event: Any
) -> None:
    def boom(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret-value-user@example.com")

    monkeypatch.setattr(core, "route_event", boom)
    outcome = run(make_event(email="user@example.com"))
    assert isinstance(outcome, DeadLetter)
    assert outcome.reason == "internal.error"
    assert outcome.reason in REASONS
    assert "user@example.com" not in outcome.detail  # exception text is never echoed
    assert "RuntimeError" in outcome.detail


def test_none_value_is_decode_empty(run: Any) -> None:
    outcome = run(None)
    assert isinstance(outcome, DeadLetter) and outcome.reason == "decode.empty"


def test_reason_codes_are_dotted_lowercase_and_metric_safe() -> None:
    for code in REASONS:
        assert re.fullmatch(r"[a-z]+(\.[a-zA-Z0-9_]+)+", code), code
        assert REASONS[code].strip(), f"{code} has no meaning"
    for field, rules in FIELD_RULES.items():
        for rule in rules:
            assert f"contract.{field}.{rule}" in REASONS


# ------------------------------------------------------------------ details name, never echo


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", BAD_EMAIL),
        ("email", "john.smith.private@example"),
        ("phone", "+1 555 CALL NOW"),
        ("phone", "+1" + "5" * 40),
        ("firstName", "Bartholomew" * 30),
        ("country", "Narnia"),
        ("ip", "10.0.0.999"),
        ("pageUrl", "javascript:alert(document.cookie)"),
        ("zip", "94107-" + "9" * 260),
        # `$` alone matches before a newline: every rule must see the whole value.
        ("email", "ada.lovelace@example.com\nbcc@example.com"),
        ("ip", "10.0.0.1\n10.0.0.2"),
    ],
)
def test_a_dropped_field_is_named_never_echoed(
    run: Any, make_event: Any, records: Any, field: str, value: str
) -> None:
    outcome = run(make_event(**{field: value}))
    assert isinstance(outcome, Routed)
    assert [(w.field, w.code.split(".")[0]) for w in outcome.warnings] == [(field, field)]
    for record in outcome.records:
        assert value[:12] not in record.value.decode()


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "ada.lovelace@example.com\n"), ("phone", "+1 415 555 0100\n"),
     ("ip", "10.0.0.1\n"), ("pageUrl", "https://example.com/pricing\n"),
     ("email", "  jane@example.com "), ("userId", " user-7f3a\t")],
)
def test_surrounding_whitespace_is_trimmed_not_a_problem(
    run: Any, make_event: Any, records: Any, field: str, value: str
) -> None:
    outcome = run(make_event(**{field: value}))
    assert isinstance(outcome, Routed) and outcome.warnings == ()
    wh = records(outcome)["warehouse"]
    assert value.strip() in orjson.dumps(wh).decode()


def test_a_form_s_trailing_space_on_the_only_identity_still_routes(run: Any) -> None:
    outcome = run(ev(userId=..., email="jane@example.com "))
    assert isinstance(outcome, Routed) and outcome.warnings == ()


def test_padded_event_and_event_id_are_trimmed(run: Any) -> None:
    outcome = run(ev(event=" SignUp\n", eventId="\tevt-0001 "))
    assert isinstance(outcome, Routed)
    assert (outcome.event, outcome.event_id) == ("SignUp", "evt-0001")


def test_an_unusable_only_identity_is_a_dead_letter_that_says_so(run: Any) -> None:
    outcome = run(ev(userId=..., email=BAD_EMAIL))
    assert isinstance(outcome, DeadLetter) and outcome.reason == "contract.identity.missing"
    assert "email was dropped" in outcome.detail
    assert BAD_EMAIL not in outcome.detail


def test_a_null_email_is_absent_not_dropped(run: Any) -> None:
    outcome = run(ev(userId=..., email=None))
    assert isinstance(outcome, DeadLetter) and outcome.reason == "contract.identity.missing"
    assert "dropped" not in outcome.detail


def test_several_dropped_fields_each_warn(run: Any, make_event: Any) -> None:
    outcome = run(make_event(email=BAD_EMAIL, phone="dial-zero-private", ip="999.1.1.1"))
    assert isinstance(outcome, Routed)
    assert {w.code for w in outcome.warnings} == {"email.invalid", "phone.invalid", "ip.invalid"}


def test_several_problems_name_the_others_without_values(run: Any) -> None:
    outcome = run(ev(eventId="evt 0001", consent={"ads": "nope-private"},
                     timestamp="yesterday-private", email=BAD_EMAIL))
    assert isinstance(outcome, DeadLetter)
    assert "+2 more" in outcome.detail
    assert "consent" in outcome.detail and "timestamp" in outcome.detail
    for v in ("evt 0001", "nope-private", "yesterday-private", BAD_EMAIL):
        assert v not in outcome.detail


def test_invalid_json_detail_does_not_echo_the_document(run: Any) -> None:
    outcome = run(b'{"event":"SignUp","email":"secret.person@example.com",}')
    assert isinstance(outcome, DeadLetter) and outcome.reason == "decode.invalid_json"
    assert "secret.person" not in outcome.detail


# ------------------------------------------------------------------ specific rules


def test_unknown_top_level_field_suggests_the_right_name(run: Any) -> None:
    outcome = run(ev(eventId=..., eventid="evt-1"))
    assert isinstance(outcome, DeadLetter)
    # The typo is reported first even though eventId is also missing.
    assert outcome.reason == "contract.unknown_field"
    assert outcome.detail.startswith("eventid:")
    assert "did you mean 'eventId'" in outcome.detail
    assert "properties" in outcome.detail


def test_unknown_field_without_a_close_match_has_no_suggestion(run: Any) -> None:
    outcome = run(ev(zzzqqq=1))
    assert isinstance(outcome, DeadLetter) and outcome.reason == "contract.unknown_field"
    assert "did you mean" not in outcome.detail


@pytest.mark.parametrize("near", ["signup", "sign_up", "SIGN-UP", "Signup"])
def test_near_miss_event_names_dead_letter_with_suggestion(run: Any, near: str) -> None:
    outcome = run(ev(event=near))
    assert isinstance(outcome, DeadLetter)
    assert outcome.reason == "taxonomy.unknown_event"
    assert "did you mean 'SignUp'" in outcome.detail


def test_identity_missing_names_the_identity_fields(run: Any) -> None:
    outcome = run(ev(userId=...))
    assert isinstance(outcome, DeadLetter) and outcome.reason == "contract.identity.missing"
    for f in ("userId", "anonymousId", "externalId", "email"):
        assert f in outcome.detail


@pytest.mark.parametrize("identity", ["userId", "anonymousId", "externalId"])
def test_any_one_identity_is_enough(run: Any, identity: str) -> None:
    assert isinstance(run(ev(**{"userId": ..., identity: "someone-1"})), Routed)


def test_email_alone_is_an_identity(run: Any) -> None:
    assert isinstance(run(ev(userId=..., email="solo@example.com")), Routed)


def test_value_without_currency_is_dropped_from_an_event_that_is_not_about_money(
    run: Any, records: Any
) -> None:
    outcome = run(ev(value=12.0))
    assert isinstance(outcome, Routed)
    assert [w.code for w in outcome.warnings] == ["currency.missing"]
    assert "value" not in records(outcome)["warehouse"]


def test_value_without_currency_on_a_money_event_is_contract_currency_missing(
    run: Any
) -> None:
    outcome = run(ev(event="Purchase", value=12.0))
    assert isinstance(outcome, DeadLetter) and outcome.reason == "contract.currency.missing"
    assert outcome.detail.startswith("currency:")


@pytest.mark.parametrize("name", ["Purchase", "Refund"])
def test_money_events_need_value(run: Any, name: str) -> None:
    outcome = run(ev(event=name))
    assert isinstance(outcome, DeadLetter)
    assert outcome.reason == "taxonomy.value.missing"
    assert outcome.detail.startswith("value:") and name in outcome.detail


@pytest.mark.parametrize("name", ["Purchase", "Refund"])
def test_money_events_with_value_and_currency_route(run: Any, name: str) -> None:
    assert isinstance(run(ev(event=name, value=10, currency="EUR")), Routed)


@pytest.mark.parametrize("name", ["Purchase", "Refund"])
def test_money_events_need_currency(run: Any, name: str) -> None:
    outcome = run(ev(event=name, value=10))
    assert isinstance(outcome, DeadLetter)
    assert outcome.reason == "contract.currency.missing"


def test_size_limit_is_inclusive_and_configurable(run: Any) -> None:
    value = ev()
    assert isinstance(run(value, max_bytes=len(value)), Routed)
    outcome = run(value, max_bytes=len(value) - 1)
    assert isinstance(outcome, DeadLetter) and outcome.reason == "size.too_large"
    assert str(len(value) - 1) in outcome.detail


def test_default_size_limit_is_64_kib(run: Any) -> None:
    pad = 65536 - len(ev(properties={"b": ""}))
    assert isinstance(run(ev(properties={"b": "x" * pad})), Routed)
    assert run(ev(properties={"b": "x" * (pad + 1)})).reason == "size.too_large"


@pytest.mark.parametrize("value", [b"", None])
def test_empty_values(run: Any, value: bytes | None) -> None:
    assert run(value).reason == "decode.empty"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"\xff\xfe\x00", "decode.not_utf8"),
        (b"not json", "decode.invalid_json"),
        (b"null", "decode.not_object"),
        (b"42", "decode.not_object"),
        (b'"SignUp"', "decode.not_object"),
    ],
)
def test_decode_failures(run: Any, value: bytes, reason: str) -> None:
    assert run(value).reason == reason


def test_properties_depth_limit_is_eight(run: Any) -> None:
    assert isinstance(run(ev(properties=deep(8))), Routed)
    assert run(ev(properties=deep(9))).reason == "contract.properties.too_deep"


def test_validation_is_strict_no_coercion(run: Any) -> None:
    assert run(ev(eventId=1)).reason == "contract.eventId.type"
    assert run(ev(consent={"ads": 1})).reason == "contract.consent.value_type"
    assert run(ev(timestamp="1718000000000")).reason == "contract.timestamp.format"


def test_json_null_means_absent(run: Any) -> None:
    assert isinstance(run(ev(email=None, phone=None, source=None, consent=None)), Routed)


# ------------------------------------------------------------------ timestamps


def _utc_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def test_future_timestamp_over_five_minutes_dead_letters(run: Any) -> None:
    limit = NOW_MS + 5 * 60 * 1000
    assert isinstance(run(ev(timestamp=limit)), Routed)
    outcome = run(ev(timestamp=limit + 1))
    assert isinstance(outcome, DeadLetter) and outcome.reason == "timestamp.future"
    assert outcome.detail.startswith("timestamp:")


def test_future_rfc3339_timestamp_dead_letters(run: Any) -> None:
    later = datetime.fromtimestamp((NOW_MS + 3_600_000) / 1000, UTC).isoformat()
    assert run(ev(timestamp=later)).reason == "timestamp.future"


@pytest.mark.parametrize(
    "ts",
    ["2025-06-15T17:00:00+02:00", "2025-06-15T15:00:00Z", "2025-06-15T10:00:00.250-05:00",
     "2025-06-15T15:00:00.123456+00:00"],
)
def test_rfc3339_with_offset_is_accepted_and_normalised_to_utc(
    run: Any, records: Any, ts: str
) -> None:
    outcome = run(ev(timestamp=ts))
    assert isinstance(outcome, Routed)
    assert outcome.event_time_ms == _utc_ms(ts)
    stamp = records(outcome)["warehouse"]["timestamp"]
    assert stamp.endswith("Z") and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp)
    assert stamp == datetime.fromtimestamp(_utc_ms(ts) / 1000, UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def test_rfc3339_without_offset_is_rejected(run: Any) -> None:
    assert run(ev(timestamp="2025-06-15T15:00:00")).reason == "contract.timestamp.format"


def test_epoch_ms_is_accepted(run: Any, records: Any) -> None:
    outcome = run(ev(timestamp=NOW_MS - 1234))
    assert isinstance(outcome, Routed) and outcome.event_time_ms == NOW_MS - 1234
    assert records(outcome)["warehouse"]["timestamp"] == "2025-06-15T15:06:38.766Z"


def test_absent_timestamp_uses_the_record_timestamp(run: Any, records: Any) -> None:
    record_ts = NOW_MS - 42_000
    outcome = run(ev(), record_ts=record_ts)
    assert isinstance(outcome, Routed) and outcome.event_time_ms == record_ts
    wh = records(outcome)["warehouse"]
    assert wh["timestamp"] == wh["receivedAt"] == "2025-06-15T15:05:58.000Z"


def test_received_at_is_the_record_timestamp_not_the_event_time(run: Any, records: Any) -> None:
    outcome = run(ev(timestamp=NOW_MS - 3_600_000), record_ts=NOW_MS - 1000)
    wh = records(outcome)["warehouse"]
    assert wh["timestamp"] == "2025-06-15T14:06:40.000Z"
    assert wh["receivedAt"] == "2025-06-15T15:06:39.000Z"


def test_earliest_rfc3339_time_does_not_crash_the_router(run: Any) -> None:
    outcome = run(ev(timestamp="0001-01-01T00:00:00+01:00"))
    assert isinstance(outcome, Routed) or outcome.reason != "internal.error"


def test_admit_agrees_with_process(now_ms: int) -> None:
    assert core.admit(ev(), now_ms, now_ms) == Admitted("evt-0001")
    bad = core.admit(ev(eventId="evt 1"), now_ms, now_ms)
    assert isinstance(bad, DeadLetter) and bad.reason == "contract.eventId.format"
