"""Ads records that carry nothing their platform can match on are skipped as no_match_keys."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest

from eventyard.platforms import (
    PLATFORMS,
    Platform,
    PlatformRegistryError,
    build_registry,
    pii_rules,
)
from eventyard.platforms import names as platform_names
from eventyard.policy import CompiledPolicy
from eventyard.routing.outcome import Routed
from eventyard.routing.skips import skip_detail
from eventyard.telemetry import SKIP_REASONS

AGENT = "Mozilla/5.0 (X11; Linux x86_64)"


def _warehouse_routed_to(outcome: Routed) -> dict[str, Any]:
    wh = next(r for r in outcome.records if r.destination == "warehouse")
    routed_to: dict[str, Any] = orjson.loads(wh.value)["routedTo"]
    return routed_to


def test_google_with_only_a_user_id_is_skipped(run: Any, make_event: Any) -> None:
    outcome = run(make_event("SignUp", userId="u-1", email=None))
    assert isinstance(outcome, Routed)
    assert "google" not in {r.destination for r in outcome.records}
    assert outcome.skipped["google"] == "no_match_keys"
    assert outcome.skipped["linkedin"] == "no_match_keys"
    assert _warehouse_routed_to(outcome)["google"] == {
        "status": "skipped", "reason": "no_match_keys"}
    # userId stands in for the external id Meta, TikTok and Reddit match on.
    sent = {r.destination for r in outcome.records}
    assert {"meta", "tiktok", "reddit", "hubspot", "salesforce", "warehouse"} <= sent


@pytest.mark.parametrize("click", ["gclid", "gbraid", "wbraid"])
def test_google_with_one_click_id_is_sent(run: Any, make_event: Any, records: Any,
                                          click: str) -> None:
    out = records(run(make_event("SignUp", userId="u-1", email=None,
                                 clickIds={click: "Cj0KCQ-abc"})))
    assert out["google"]["context"]["clickIds"] == {click: "Cj0KCQ-abc"}
    assert out["google"]["user"] == {}
    assert out["warehouse"]["routedTo"]["google"] == {"status": "sent", "name": "sign_up"}
    assert out["warehouse"]["routedTo"]["linkedin"] == {
        "status": "skipped", "reason": "no_match_keys"}


def test_linkedin_with_an_email_is_sent_with_the_hashed_email(
    run: Any, make_event: Any, records: Any
) -> None:
    out = records(run(make_event("SignUp", userId="u-1", email=" Jane@Example.com")))
    expected = hashlib.sha256(b"jane@example.com").hexdigest()
    assert out["linkedin"]["user"] == {"email": expected}
    assert out["google"]["user"]["email"] == expected
    assert out["warehouse"]["routedTo"]["linkedin"] == {"status": "sent", "name": "SIGN_UP"}


def test_linkedin_with_li_fat_id_is_sent(run: Any, make_event: Any, records: Any) -> None:
    outcome = run(make_event("SignUp", userId="u-1", email=None, clickIds={"li_fat_id": "li-123"}))
    out = records(outcome)
    assert out["linkedin"]["context"]["clickIds"] == {"li_fat_id": "li-123"}
    # LinkedIn's click id is not Google's: google still has nothing to match on.
    assert outcome.skipped["google"] == "no_match_keys"


def test_meta_matches_on_ip_and_user_agent_together(run: Any, make_event: Any,
                                                    records: Any) -> None:
    both = run(make_event("PageView", userId=None, email=None, anonymousId="a-1", ip="203.0.113.9",
                          userAgent=AGENT))
    out = records(both)
    assert out["meta"]["user"] == {}
    assert out["meta"]["context"] == {"ip": "203.0.113.9", "userAgent": AGENT}
    assert out["reddit"]["context"]["ip"] == "203.0.113.9"
    # GA4 takes the user agent but matches no one on it.
    assert both.skipped["google"] == "no_match_keys"
    ip_only = run(make_event("PageView", userId=None, email=None, anonymousId="a-1",
                             ip="203.0.113.9"))
    assert isinstance(ip_only, Routed)
    assert ip_only.skipped["meta"] == "no_match_keys"
    assert ip_only.skipped["reddit"] == "no_match_keys"


def test_an_invalid_email_is_no_match_key(run: Any, make_event: Any) -> None:
    # Omitted by normalisation, so the record would carry nothing.
    outcome = run(make_event("SignUp", userId=None, anonymousId="a-1", email="not-an-email"))
    assert isinstance(outcome, Routed)
    for dest in ("meta", "google", "linkedin", "tiktok", "reddit"):
        assert outcome.skipped[dest] == "no_match_keys", dest


def test_anonymous_only_event_reaches_no_ad_platform(run: Any, make_event: Any) -> None:
    outcome = run(make_event("SignUp", userId=None, email=None, anonymousId="a-1"))
    assert isinstance(outcome, Routed)
    assert {r.klass for r in outcome.records} == {"crm", "warehouse"}
    assert {d: outcome.skipped[d] for d in ("meta", "google", "linkedin", "tiktok", "reddit")} \
        == dict.fromkeys(("meta", "google", "linkedin", "tiktok", "reddit"), "no_match_keys")


def test_match_keys_are_compiled_per_route(default_policy: CompiledPolicy) -> None:
    routes = {r.destination: r for r in default_policy.routes["SignUp"]}
    assert frozenset({"gclid"}) in routes["google"].match_keys
    assert frozenset({"ip", "userAgent"}) in routes["meta"].match_keys
    assert routes["hubspot"].match_keys == ()
    assert routes["warehouse"].match_keys == ()


def test_explain_says_what_the_platform_matches_on(default_policy: CompiledPolicy) -> None:
    text = skip_detail("no_match_keys", "google", "SignUp", default_policy, 0, None)
    assert text == ("no_match_keys: google matches a conversion on email or phone or gclid or "
                    "gbraid or wbraid, and the event carries none of them (a hashed field "
                    "counts only when it is valid)")


def test_the_skip_metric_knows_the_reason() -> None:
    assert "no_match_keys" in SKIP_REASONS


def test_every_ads_platform_names_match_keys_it_is_sent() -> None:
    for p in PLATFORMS.values():
        if p.klass == "ads":
            assert p.match_keys, p.name


def test_registry_refuses_an_ads_platform_without_match_keys() -> None:
    rules = pii_rules(email="email_plain")
    bare = Platform("acme", "ads", None, (), ("acme_clid",), platform_names.generic, rules,
                    "https://acme.example/docs")
    with pytest.raises(PlatformRegistryError, match="names no match keys"):
        build_registry([bare])
    wrong = Platform("acme", "ads", None, (), ("acme_clid",), platform_names.generic, rules,
                     "https://acme.example/docs", (("gclid",),))
    with pytest.raises(PlatformRegistryError, match="'gclid' is not a field"):
        build_registry([wrong])
