"""Routing and shaping against the default policy and the reference mapping ."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from eventyard.policy import CompiledPolicy
from eventyard.policy.compiled import DEFAULT_ADS_KEY
from eventyard.records import SCHEMA_ID, RoutedRecord
from eventyard.routing.adsafety import ads_key
from eventyard.routing.outcome import Routed
from eventyard.taxonomy import TAXONOMY

REFERENCE_MAPPING = Path(__file__).parent / "data" / "default-mapping.yaml"
ADS = ("meta", "google", "linkedin", "tiktok", "reddit")
CRM = ("hubspot", "salesforce")
DAY = 86_400_000
HOUR = 3_600_000


def sha(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


@pytest.fixture(scope="module")
def mapping() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(REFERENCE_MAPPING.read_text("utf-8"))
    return loaded


# ------------------------------------------------------------------ the reference mapping


@pytest.mark.parametrize("name", list(TAXONOMY))
def test_default_policy_routes_every_event_as_the_reference_says(
    name: str, mapping: dict[str, Any], default_policy: CompiledPolicy,
    run: Any, make_event: Any, records: Any,
) -> None:
    expected: dict[str, str | None] = mapping["events"][name]["destinations"]
    assert set(expected) == set(default_policy.destinations)
    outcome = run(make_event(name))
    out = records(outcome)
    wrong = []
    for dest, native in expected.items():
        if native is None:
            if dest in out or outcome.skipped.get(dest) not in ("not_in_policy", "excluded"):
                wrong.append((dest, "should be skipped", out.get(dest, {}).get("name"),
                              outcome.skipped.get(dest)))
        elif dest not in out or out[dest]["name"] != native:
            wrong.append((dest, native, out.get(dest, {}).get("name"),
                          outcome.skipped.get(dest)))
    assert not wrong, f"{name}: {wrong}"
    for dest, rec in out.items():
        assert rec["event"] == name
        assert rec["class"] == default_policy.classes[dest]
    # Warehouse: canonical name, and routedTo accounts for every other destination.
    wh = out["warehouse"]
    assert wh["name"] == name
    routed_to = wh["routedTo"]
    assert set(routed_to) | {"warehouse"} == set(default_policy.destinations)
    for dest, status in routed_to.items():
        if expected[dest] is None:
            assert status == {"status": "skipped", "reason": outcome.skipped[dest]}
        else:
            assert status == {"status": "sent", "name": expected[dest]}


def test_ads_never_get_protected_events_by_default(
    run: Any, make_event: Any, records: Any
) -> None:
    for name, spec in TAXONOMY.items():
        if spec.ads_protected:
            out = records(run(make_event(name)))
            assert not set(out) & set(ADS), name
            assert "warehouse" in out


# ------------------------------------------------------------------ names and hashes


GMAIL = "Jane.Doe+promo@Gmail.com"
PHONE = "+1 (415) 555-0123"


def test_signup_per_ad_platform(run: Any, make_event: Any, records: Any) -> None:
    out = records(run(make_event("SignUp", email=GMAIL, phone=PHONE)))
    meta, google, reddit = out["meta"], out["google"], out["reddit"]
    assert meta["name"] == "CompleteRegistration"
    assert meta["user"]["email"] == sha("jane.doe+promo@gmail.com")
    assert meta["user"]["phone"] == sha("14155550123")  # Meta: digits, no +
    assert meta["user"]["externalId"] == sha("user-7f3a")  # userId stands in
    assert google["name"] == "sign_up"
    assert google["user"]["email"] == sha("janedoe+promo@gmail.com")  # Gmail dots go
    assert google["user"]["phone"] == sha("+14155550123")
    assert reddit["name"] == "SIGN_UP"
    assert reddit["user"]["email"] == sha("janedoe@gmail.com")  # dots and +alias go
    assert out["linkedin"]["name"] == "SIGN_UP"
    assert out["linkedin"]["user"] == {"email": sha("jane.doe+promo@gmail.com")}
    assert out["tiktok"]["name"] == "CompleteRegistration"


def test_ads_records_carry_only_lowercase_sha256_hex(
    run: Any, make_event: Any, records: Any
) -> None:
    out = records(run(make_event("Purchase", email=GMAIL, phone=PHONE, firstName="Zoë",
                                 lastName="O'Brien", city="San Francisco", state="California",
                                 zip="94107-1234", country="US")))
    for dest in ADS:
        for field, value in out[dest]["user"].items():
            assert len(value) == 64 and value == value.lower(), (dest, field)
            int(value, 16)


RAW_PII = {
    "email": "Quentin.Wyvern@Example.org",
    "phone": "+44 20 7946 0958",
    "firstName": "Quentin",
    "lastName": "Wyvernsworth",
    "city": "Twyford Upon Thames",
    "state": "Wokingham",
    "zip": "RG10 9XY",
}


def test_ads_records_never_contain_raw_pii(run: Any, make_event: Any) -> None:
    outcome = run(make_event("Purchase", country="GB", **RAW_PII,
                             properties={"contact": RAW_PII["email"]}))
    assert isinstance(outcome, Routed)
    ads = [r for r in outcome.records if r.klass == "ads"]
    assert {r.destination for r in ads} == set(ADS)
    for rec in ads:
        text = rec.value.decode().lower()
        for field, value in RAW_PII.items():
            for form in {value, value.lower(), value.replace(" ", "").lower()}:
                assert form.lower() not in text, f"{rec.destination} leaks raw {field}"
        assert b"@" not in rec.value
        assert b"7946" not in rec.value and b"RG10" not in rec.key


def test_crm_raw_mode_carries_raw_pii(run: Any, make_event: Any, records: Any) -> None:
    out = records(run(make_event("SignUp", country="GB", companyDomain="example.org",
                                 **RAW_PII)))
    for dest in (*CRM, "warehouse"):
        user = out[dest]["user"]
        assert user["email"] == RAW_PII["email"]
        assert user["phone"] == RAW_PII["phone"]
        assert user["firstName"] == "Quentin" and user["zip"] == "RG10 9XY"
        assert user["userId"] == "user-7f3a"
        assert user["country"] == "GB" and user["companyDomain"] == "example.org"


def _with_warehouse(extra: str) -> str:
    return (
        "version: 1\ndestinations:\n"
        "  meta:\n    class: ads\n    pii: sha256\n    events: all\n"
        f"  warehouse:\n    class: warehouse\n    pii: {extra}\n    events: all\n"
        "  salesforce:\n    class: crm\n    pii: sha256\n    events: all\n"
    )


def test_warehouse_hmac_mode(compile_yaml: Any, run: Any, make_event: Any,
                             records: Any) -> None:
    policy = compile_yaml(_with_warehouse("hmac"), hmac_key=b"k")
    out = records(run(make_event("SignUp", email="Ann@Example.com", phone="+1 415 555 0123"),
                      policy=policy))
    user = out["warehouse"]["user"]
    expected = hmac.new(b"k", b"ann@example.com", "sha256").hexdigest()
    assert user["email"] == expected
    assert user["email"] != sha("ann@example.com")
    assert user["phone"] == hmac.new(b"k", b"+14155550123", "sha256").hexdigest()
    assert user["userId"] == "user-7f3a"  # ids stay joinable
    # A different key gives a different pseudonym.
    other = compile_yaml(_with_warehouse("hmac"), hmac_key=b"other")
    assert records(run(make_event("SignUp", email="Ann@Example.com"), policy=other))[
        "warehouse"]["user"]["email"] != expected
    # crm sha256 mode: plain SHA-256 of the normalised value.
    assert out["salesforce"]["user"]["email"] == sha("ann@example.com")
    assert out["salesforce"]["user"]["userId"] == "user-7f3a"


def test_hashed_modes_per_person_not_per_visitor(compile_yaml: Any, run: Any,
                                                make_event: Any, records: Any) -> None:
    """The hashed contact fields are computed once per person: two visitors with the same
    contact fields keep their own ids, and other contact fields get their own hashes."""
    policy = compile_yaml(_with_warehouse("hmac"), hmac_key=b"k")
    first, second, third = (
        records(run(make_event("SignUp", userId=None, anonymousId=anon, email=email),
                    policy=policy))
        for anon, email in (("anon-1", "Ann@Example.com"), ("anon-2", "Ann@Example.com"),
                            ("anon-1", "Bob@Example.com"))
    )
    ann = hmac.new(b"k", b"ann@example.com", "sha256").hexdigest()
    assert first["warehouse"]["user"] == {"anonymousId": "anon-1", "email": ann}
    assert second["warehouse"]["user"] == {"anonymousId": "anon-2", "email": ann}
    assert third["warehouse"]["user"] == {
        "anonymousId": "anon-1", "email": hmac.new(b"k", b"bob@example.com", "sha256").hexdigest()}
    assert first["salesforce"]["user"] == {"anonymousId": "anon-1", "email": sha("ann@example.com")}


def test_pii_drop_keeps_ids_only(compile_yaml: Any, run: Any, make_event: Any,
                                 records: Any) -> None:
    policy = compile_yaml(_with_warehouse("drop"))
    out = records(run(make_event("SignUp", anonymousId="anon-1", externalId="crm-9",
                                 **RAW_PII), policy=policy))
    user = out["warehouse"]["user"]
    assert user == {"userId": "user-7f3a", "anonymousId": "anon-1", "externalId": "crm-9"}
    text = orjson.dumps(out["warehouse"]).decode()
    for value in RAW_PII.values():
        assert value not in text


def test_no_pii_means_an_empty_ads_user_block(run: Any, make_event: Any,
                                              records: Any) -> None:
    # Click ids and IP + user agent are match keys, so each platform still gets the event.
    out = records(run(make_event(
        "SignUp", userId=None, email=None, anonymousId="anon-only", ip="203.0.113.9",
        userAgent="Mozilla/5.0", clickIds={"gclid": "g-1", "li_fat_id": "li-1"},
    )))
    for dest in ADS:
        assert out[dest]["user"] == {}, dest


# ------------------------------------------------------------------ consent and age


def test_ads_consent_false_skips_ads_only(run: Any, make_event: Any, records: Any) -> None:
    outcome = run(make_event("SignUp", consent={"ads": False}))
    assert set(records(outcome)) == {*CRM, "warehouse"}
    assert outcome.skipped == {d: "no_consent" for d in ADS}
    routed_to = records(outcome)["warehouse"]["routedTo"]
    assert routed_to["meta"] == {"status": "skipped", "reason": "no_consent"}


def test_crm_consent_false_skips_crm_only(run: Any, make_event: Any, records: Any) -> None:
    outcome = run(make_event("SignUp", consent={"crm": False, "ads": True}))
    assert set(records(outcome)) == {*ADS, "warehouse"}
    assert outcome.skipped == {d: "no_consent" for d in CRM}


def test_consent_required(compile_yaml: Any, run: Any, make_event: Any, records: Any) -> None:
    policy = compile_yaml(
        "version: 1\ndestinations:\n"
        "  meta:\n    class: ads\n    pii: sha256\n    consent: required\n    events: all\n"
        "  tiktok:\n    class: ads\n    pii: sha256\n    events: all\n"
        "  warehouse:\n    class: warehouse\n    pii: raw\n    events: all\n"
    )
    for consent in (None, {}, {"crm": True}):
        outcome = run(make_event("SignUp", consent=consent), policy=policy)
        assert outcome.skipped == {"meta": "no_consent"}, consent
        assert set(records(outcome)) == {"tiktok", "warehouse"}
    outcome = run(make_event("SignUp", consent={"ads": True}), policy=policy)
    assert set(records(outcome)) == {"meta", "tiktok", "warehouse"}


@pytest.mark.parametrize(
    ("dest", "limit"), [("meta", 7 * DAY), ("google", 72 * HOUR), ("linkedin", 90 * DAY),
                        ("tiktok", 7 * DAY), ("reddit", 7 * DAY)],
)
def test_too_old_per_platform(run: Any, make_event: Any, records: Any, now_ms: int,
                              dest: str, limit: int) -> None:
    at_limit = run(make_event("SignUp", timestamp=now_ms - limit))
    assert dest in records(at_limit)
    past = run(make_event("SignUp", timestamp=now_ms - limit - 1))
    assert dest not in records(past)
    assert past.skipped[dest] == "too_old"
    assert {"hubspot", "salesforce", "warehouse"} <= set(records(past))  # no age limit


def test_age_is_measured_from_now(run: Any, make_event: Any, now_ms: int) -> None:
    event = make_event("SignUp", timestamp=now_ms - 4 * DAY)
    assert run(event).skipped == {"google": "too_old"}
    assert run(event, now=now_ms - 2 * DAY).skipped == {}
    assert run(event, now=now_ms + 4 * DAY).skipped == {
        "meta": "too_old", "google": "too_old", "tiktok": "too_old", "reddit": "too_old"}


def test_record_timestamp_stands_in_for_age(run: Any, make_event: Any, now_ms: int) -> None:
    outcome = run(make_event("SignUp"), record_ts=now_ms - 10 * DAY)
    assert outcome.skipped == {d: "too_old" for d in ("meta", "google", "tiktok", "reddit")}


# ------------------------------------------------------------------ context and properties

ALL_CLICKS = {k: f"click-{k}" for k in (
    "fbc", "fbp", "gclid", "gbraid", "wbraid", "li_fat_id", "ttclid", "rdt_cid", "msclkid",
    "twclid")}
CONTEXT = {"pageUrl": "https://example.com/pricing", "referrer": "https://search.example/",
           "ip": "203.0.113.7", "userAgent": "Mozilla/5.0 test"}


def test_click_ids_and_context_are_filtered_per_platform(
    run: Any, make_event: Any, records: Any
) -> None:
    out = records(run(make_event("SignUp", clickIds=ALL_CLICKS, **CONTEXT)))

    def clicks(dest: str) -> set[str]:
        return set(out[dest]["context"].get("clickIds", {}))

    assert clicks("meta") == {"fbc", "fbp"}
    assert clicks("google") == {"gclid", "gbraid", "wbraid"}
    assert clicks("linkedin") == {"li_fat_id"}
    assert clicks("tiktok") == {"ttclid"}
    assert clicks("reddit") == {"rdt_cid"}
    for dest in (*CRM, "warehouse"):
        assert out[dest]["context"]["clickIds"] == ALL_CLICKS
    assert out["meta"]["context"]["clickIds"]["fbc"] == "click-fbc"  # raw, never hashed
    assert set(out["meta"]["context"]) == {"pageUrl", "ip", "userAgent", "clickIds"}
    assert set(out["google"]["context"]) == {"userAgent", "clickIds"}  # GA4: no IP, no URL
    assert set(out["linkedin"]["context"]) == {"clickIds"}
    assert out["warehouse"]["context"] == {**CONTEXT, "clickIds": ALL_CLICKS}


def test_no_matching_click_id_means_no_click_ids_key(
    run: Any, make_event: Any, records: Any
) -> None:
    out = records(run(make_event("SignUp", clickIds={"msclkid": "m-1"})))
    assert "clickIds" not in out["meta"]["context"]


def test_properties_none_for_ads_all_elsewhere(run: Any, make_event: Any,
                                               records: Any) -> None:
    props = {"plan": "pro", "seats": 12, "nested": {"a": [1, 2]}}
    out = records(run(make_event("SignUp", properties=props)))
    for dest in ADS:
        assert "properties" not in out[dest]
    for dest in (*CRM, "warehouse"):
        assert out[dest]["properties"] == props


def test_properties_allowlist(compile_yaml: Any, run: Any, make_event: Any,
                              records: Any) -> None:
    policy = compile_yaml(
        "version: 1\ndestinations:\n"
        "  meta:\n    class: ads\n    pii: sha256\n    events: all\n    properties: [plan]\n"
        "  warehouse:\n    class: warehouse\n    pii: raw\n    events: all\n"
        "    properties: none\n"
    )
    out = records(run(make_event("SignUp", properties={"plan": "pro", "email": "a@b.co"}),
                      policy=policy))
    assert out["meta"]["properties"] == {"plan": "pro"}
    assert "properties" not in out["warehouse"]


# ------------------------------------------------------------------ record envelope


@pytest.mark.parametrize(
    ("ids", "key"),
    [({"userId": "u-1", "anonymousId": "a-1", "externalId": "x-1"}, b"u-1"),
     ({"userId": None, "anonymousId": "a-1", "externalId": "x-1"}, b"a-1"),
     ({"userId": None, "externalId": "x-1"}, b"x-1"),
     ({"userId": None, "email": "only@example.com", "eventId": "evt-key"}, b"evt-key")],
)
def test_record_key_is_the_identity(run: Any, make_event: Any, ids: dict[str, Any],
                                    key: bytes) -> None:
    outcome = run(make_event("SignUp", **ids))
    assert outcome.records
    assert {r.key for r in outcome.records if r.klass != "ads"} == {key}
    # ads records: a keyed hash of the same identity (routing/adsafety.py)
    assert {r.key for r in outcome.records if r.klass == "ads"} == {
        ads_key(DEFAULT_ADS_KEY, key)
    }


def test_value_and_currency_are_carried(run: Any, make_event: Any, records: Any) -> None:
    out = records(run(make_event("Purchase", value=1234.5, currency="EUR")))
    assert set(out) == {*ADS, *CRM, "warehouse"}
    for rec in out.values():
        assert (rec["value"], rec["currency"]) == (1234.5, "EUR")
    out = records(run(make_event("SignUp")))
    assert all("value" not in rec and "currency" not in rec for rec in out.values())


def test_envelope_fields(run: Any, make_event: Any, default_policy: CompiledPolicy,
                         now_ms: int) -> None:
    outcome = run(make_event("SignUp", eventId="evt-env", source="server",
                             timestamp="2025-06-15T12:00:00+02:00"))
    assert isinstance(outcome, Routed)
    assert (outcome.event_id, outcome.event) == ("evt-env", "SignUp")
    assert outcome.policy_version == default_policy.version
    for r in outcome.records:
        rec = orjson.loads(r.value)
        assert rec["schema"] == SCHEMA_ID == "eventyard.routed/1"
        assert rec["destination"] == r.destination and rec["class"] == r.klass
        assert rec["eventId"] == "evt-env" and rec["source"] == "server"
        assert rec["policyVersion"] == default_policy.version
        assert rec["timestamp"] == "2025-06-15T10:00:00.000Z"
        assert rec["receivedAt"] == "2025-06-15T15:06:40.000Z"


RICH = {
    "source": "browser", "anonymousId": "anon-1", "externalId": "crm-9",
    "email": GMAIL, "phone": PHONE, "firstName": "Zoë", "lastName": "O'Brien",
    "city": "San Francisco", "state": "CA", "zip": "94107", "country": "US",
    "companyDomain": "example.com", "clickIds": ALL_CLICKS, "consent": {"ads": True},
    "properties": {"plan": "pro", "list": [1, {"x": None}]}, **CONTEXT,
}


@pytest.mark.parametrize("name", ["SignUp", "Purchase", "Refund", "PageView", "MyCustomThing"])
def test_every_record_validates_against_the_published_model(
    run: Any, make_event: Any, name: str
) -> None:
    outcome = run(make_event(name, **RICH))
    assert isinstance(outcome, Routed) and outcome.records
    for r in outcome.records:
        doc = orjson.loads(r.value)
        model = RoutedRecord.model_validate(doc)
        assert model.schema_ == SCHEMA_ID and model.class_ == r.klass
        # Nothing is lost or renamed: the model round-trips the record exactly.
        assert model.model_dump(by_alias=True, exclude_unset=True) == doc


def test_routed_to_lists_every_other_destination(compile_yaml: Any, run: Any,
                                                 make_event: Any, records: Any) -> None:
    policy = compile_yaml(
        "version: 1\ndestinations:\n"
        "  warehouse:\n    class: warehouse\n    pii: raw\n    events: all\n"
        "  lake:\n    platform: warehouse\n    class: warehouse\n    pii: drop\n"
        "    events: all\n"
    )
    out = records(run(make_event("SignUp"), policy=policy))
    assert out["warehouse"]["routedTo"] == {"lake": {"status": "sent", "name": "SignUp"}}


@given(ms=st.integers(min_value=-62_135_596_800_000 + 86_400_000, max_value=253_402_300_799_999))
def test_rfc3339_ms_matches_datetime_formatting(ms: int) -> None:
    # The per-second cache must give exactly what formatting the whole datetime gives,
    # zero-padded years and pre-1970 instants included.
    from datetime import UTC, datetime, timedelta

    from eventyard.routing.router import rfc3339_ms

    expected = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)).isoformat(
        timespec="milliseconds")[:-6] + "Z"
    assert rfc3339_ms(ms) == expected


def test_ads_block_cache_entries_stay_small() -> None:
    """The identity cache keeps encoded blocks; orjson's output carries a ~4 KiB buffer
    unless copied, which at 32k entries was ~450 MiB of worker memory."""
    import tracemalloc

    from eventyard.routing.router import _ads_blocks

    _ads_blocks.cache_clear()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(2000):
            _ads_blocks(("google", "meta"), ("email", "country"), (f"user{i}@example.com", None))
        per_entry = (tracemalloc.get_traced_memory()[0] - before) / 2000
    finally:
        tracemalloc.stop()
        _ads_blocks.cache_clear()
    assert per_entry < 2000, f"{per_entry:.0f} bytes per cached identity"
