"""The routing plan decided at policy load (policy/compile.py: EventPlan) routes an event
exactly as deciding consent and age route by route would, and click ids in URLs read
from the per-URL cache are what parsing the URL gives."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from eventyard.core import process
from eventyard.policy import CompiledPolicy, parse_policy
from eventyard.policy.compiled import Route
from eventyard.routing.adsafety import click_ids_in_url
from eventyard.routing.outcome import Routed
from eventyard.taxonomy import TAXONOMY

NOW_MS = 1_750_000_000_000
# Consent required on one ads and one CRM destination, an own max_age on a warehouse
# (custom events reach it too), the platforms' own windows elsewhere.
POLICY = parse_policy(b"""version: 1
destinations:
  meta:
    class: ads
    pii: sha256
    consent: required
    events: all
  google:
    class: ads
    pii: sha256
    events: all
  x:
    class: ads
    pii: sha256
    max_age: 30d
    events: all
  sales:
    platform: salesforce
    class: crm
    pii: raw
    consent: required
    events: all
  salesforce:
    class: crm
    pii: sha256
    events: all
  warehouse:
    class: warehouse
    pii: raw
    max_age: 20d
    events: all
  lake:
    platform: warehouse
    class: warehouse
    pii: drop
    events: all
""", "plan.yaml")

DAY = 86_400_000
AGES = sorted({0, 1, 100 * DAY} | {
    limit + d for routes in POLICY.routes.values() for r in routes
    if (limit := r.max_age_ms) is not None for d in (-1, 0, 1)
})
CONSENT = st.one_of(
    st.none(),
    st.fixed_dictionaries({}, optional={"ads": st.booleans(), "crm": st.booleans()}),
)


def _reference(routes: tuple[Route, ...], skips: dict[str, str], consent: dict[str, bool] | None,
               age_ms: int) -> tuple[list[str], dict[str, str]]:
    """Destinations sent and skip reasons, route by route (the rule in docs/routing.md)."""
    sent: list[str] = []
    skipped = dict(skips)
    for route in routes:
        given = (consent or {}).get(route.consent_key) if route.consent_key else None
        if route.consent_key is not None and (
            given is False or (route.consent_required and given is not True)
        ):
            skipped[route.destination] = "no_consent"
        elif route.max_age_ms is not None and age_ms > route.max_age_ms:
            skipped[route.destination] = "too_old"
        else:
            sent.append(route.destination)
    return sent, skipped


def _expected(policy: CompiledPolicy, name: str, consent: dict[str, bool] | None,
              age_ms: int) -> tuple[list[str], dict[str, str]]:
    if name in policy.routes:
        return _reference(policy.routes[name], dict(policy.skips[name]), consent, age_ms)
    return _reference(policy.custom_routes, dict(policy.custom_skips), consent, age_ms)


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from([*sorted(POLICY.routes), "SomethingCustom"]),
    consent=CONSENT, age_ms=st.sampled_from(AGES),
)
def test_plan_decides_consent_and_age_like_each_route(
    name: str, consent: dict[str, bool] | None, age_ms: int,
) -> None:
    event: dict[str, Any] = {"event": name, "eventId": "evt-1", "userId": "u-1",
                             "email": "u-1@example.com", "timestamp": NOW_MS - age_ms}
    if "value" in getattr(TAXONOMY.get(name), "requires", ()):
        event.update(value=10.0, currency="EUR")
    if consent is not None:
        event["consent"] = consent
    outcome = process(orjson.dumps(event), NOW_MS, POLICY, NOW_MS)
    assert isinstance(outcome, Routed)
    sent, skipped = _expected(POLICY, name, consent, age_ms)
    assert [r.destination for r in outcome.records] == sent
    assert list(outcome.skipped.items()) == list(skipped.items())  # order included
    for record in outcome.records:
        if record.klass == "warehouse":
            routed_to = orjson.loads(record.value)["routedTo"]
            assert set(routed_to) == (set(sent) | set(skipped)) - {record.destination}
            assert {d for d, s in routed_to.items() if s["status"] == "skipped"} == set(skipped)


def _click_ids_by_parsing(url: str, event_time_ms: int) -> dict[str, str]:
    """Click ids of `url`'s query string, parsed in full every time."""
    found: dict[str, str] = {}
    for name, value in parse_qsl(urlsplit(url).query):
        if not value:
            continue
        if name in ("gclid", "gbraid", "wbraid", "li_fat_id", "ttclid", "rdt_cid", "msclkid",
                    "twclid"):
            found.setdefault(name, value)
        elif name == "fbclid":
            found.setdefault("fbc", f"fb.1.{event_time_ms}.{value}")
    return found


PARTS = st.sampled_from(["gclid", "fbclid", "ttclid", "fbc", "utm_source", "x", "", "=",
                         "&", "?", "#", "%20", "a", "1", "li_fat_id", ";"])


@settings(max_examples=400, deadline=None)
@given(path=st.lists(PARTS, max_size=14).map("".join), event_time_ms=st.integers(0, 2**41))
def test_url_click_ids_match_parsing_the_url(path: str, event_time_ms: int) -> None:
    url = "https://shop.example/p" + path
    assert click_ids_in_url(url, event_time_ms) == _click_ids_by_parsing(url, event_time_ms)
    assert list(click_ids_in_url(url, event_time_ms)) == list(
        _click_ids_by_parsing(url, event_time_ms))


IDENTITY = st.fixed_dictionaries({}, optional={
    "userId": st.just("u-7"), "externalId": st.just("x-7"), "email": st.just("u7@example.com"),
    "phone": st.just("+1 650 555 0100"), "firstName": st.just("Ada"), "country": st.just("US"),
})
CARRIED = st.fixed_dictionaries({}, optional={
    "pageUrl": st.sampled_from(["https://example.com/p", "https://example.com/p?gclid=G1"]),
    "ip": st.just("203.0.113.9"),
    "userAgent": st.just("Mozilla/5.0"),
    "clickIds": st.sampled_from([{"gclid": "G2"}, {"fbc": "fb.1.1.x"}, {"twclid": "T"}]),
})


def _unmatched_by_route(routes: tuple[Route, ...], event: dict[str, Any]) -> list[str]:
    """Ads destinations whose record would hold none of the platform's match keys, each
    worked out on its own from the slow hashing path (docs/routing.md, match keys)."""
    from eventyard.routing import pii

    identity = {k: v for k, v in event.items() if k in pii.PII_INPUTS}
    clicks = set(event.get("clickIds", {})) | set(click_ids_in_url(event.get("pageUrl", ""), 0))
    out = []
    for route in routes:
        if route.klass != "ads" or not route.match_keys:
            continue
        held = set(pii.hash_user(route.platform, identity, country=event.get("country")))
        held |= {f for f in route.context if f in event} | (clicks & route.click_ids)
        if not any(group <= held for group in route.match_keys):
            out.append(route.destination)
    return out


@settings(max_examples=300, deadline=None)
@given(identity=IDENTITY, carried=CARRIED)
def test_match_key_decision_matches_each_route(
    identity: dict[str, str], carried: dict[str, Any],
) -> None:
    """The no_match_keys decision, cached per (what the identity holds, what the event
    carries), is the route-by-route one, on a first and on a repeated event."""
    event = {"event": "PageView", "eventId": "evt-1", "anonymousId": "a-1",
             "timestamp": NOW_MS, "consent": {"ads": True, "crm": True}, **identity,
             **carried}
    expected = _unmatched_by_route(POLICY.routes["PageView"], event)
    for _ in range(2):
        outcome = process(orjson.dumps(event), NOW_MS, POLICY, NOW_MS)
        assert isinstance(outcome, Routed)
        skipped = [d for d, why in outcome.skipped.items() if why == "no_match_keys"]
        assert skipped == expected
        assert not {r.destination for r in outcome.records} & set(expected)


@settings(max_examples=300, deadline=None)
@given(
    event_id=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1,
                     max_size=20),
    source=st.sampled_from([None, "browser", "server"]),
    sent=st.booleans(),
    value=st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False), st.integers(-5, 5)),
    event_ms=st.integers(NOW_MS - 3_600_000, NOW_MS),
    received_ms=st.integers(NOW_MS - 1000, NOW_MS + 1000),
)
def test_spliced_shared_fields_are_orjson_rendering(
    event_id: str, source: str | None, sent: bool, value: float | None, event_ms: int,
    received_ms: int,
) -> None:
    """Every record is exactly orjson's rendering of its fields, the shared ones (spliced
    from encoded parts) in the record's key order."""
    from datetime import UTC, datetime

    from eventyard.policy import parse_policy as parse

    policy = parse(b"""version: 1
aliases: {purchase_done: Purchase}
destinations:
  meta: {class: ads, pii: sha256, events: all}
  warehouse: {class: warehouse, pii: raw, events: all}
""", "splice.yaml")
    event: dict[str, Any] = {"event": "purchase_done" if sent else "Purchase",
                             "eventId": event_id, "userId": "u-1", "timestamp": event_ms,
                             "value": 1.0 if value is None else value, "currency": "EUR"}
    if source is not None:
        event["source"] = source
    outcome = process(orjson.dumps(event), received_ms, policy, NOW_MS)
    assert isinstance(outcome, Routed)

    def stamp(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z"

    for record in outcome.records:
        body = orjson.loads(record.value)
        assert orjson.dumps(body) == record.value
        keys = list(body)
        tail = keys[keys.index("schema"):]
        shared = ["schema", "event", "eventId", "timestamp", "receivedAt", "source",
                  "policyVersion", *(["sentAs"] if sent else [])]
        money = [] if record.klass == "ads" and event["value"] < 0 else ["value", "currency"]
        assert tail == shared + money
        assert body["eventId"] == event_id
        assert body["source"] == source
        assert body["timestamp"] == stamp(event_ms)
        assert body["receivedAt"] == stamp(received_ms)
        if money:
            assert body["value"] == event["value"]
