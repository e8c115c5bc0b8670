"""No raw identifier or PII on ads records beyond the hashed user block: keys are a keyed
hash of the identity, URLs lose query string, fragment and userinfo (click ids extracted
first), and `properties: all` is refused on ads (routing/adsafety.py, policy/lint.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from eventyard.errors import PolicyError
from eventyard.policy import CompiledPolicy
from eventyard.routing.adsafety import ads_key, click_ids_in_url, strip_url
from eventyard.routing.outcome import Routed

EMAIL_ID = "jane.doe@example.com"
URL = "https://user:pw@app.example.com/signup?email=jane%40example.com&utm_source=news" \
      "&gclid=G-123&fbclid=FB-9#token=abc"


def ads_records(outcome: object) -> list[Any]:
    assert isinstance(outcome, Routed)
    return [r for r in outcome.records if r.klass == "ads"]


def test_ads_keys_are_a_keyed_hash_shared_by_one_users_events(
    run: Any, make_event: Any
) -> None:
    first = ads_records(run(make_event("SignUp", userId=EMAIL_ID)))
    second = ads_records(run(make_event("StartTrial", userId=EMAIL_ID)))
    other = ads_records(run(make_event("SignUp", userId="someone@example.com")))
    assert first and second and other
    keys = {r.key for r in first + second}
    assert len(keys) == 1  # one partition, in order
    (key,) = keys
    assert EMAIL_ID.encode() not in key and b"@" not in key
    assert {r.key for r in other} != keys


def test_the_ads_key_depends_on_the_secret(
    run: Any, make_event: Any, compile_yaml: Callable[..., CompiledPolicy],
    default_policy: CompiledPolicy,
) -> None:
    assert ads_key(b"one", b"u-1") != ads_key(b"two", b"u-1")
    from eventyard.policy.loader import _ads_key_from_env

    assert _ads_key_from_env(b"hmac") == b"hmac"


def test_ads_urls_lose_query_fragment_and_userinfo(
    run: Any, make_event: Any, records: Any
) -> None:
    out = records(run(make_event("SignUp", pageUrl=URL, referrer=URL)))
    for dest in ("meta", "tiktok", "reddit"):
        ctx = out[dest]["context"]
        assert ctx["pageUrl"] == "https://app.example.com/signup", dest
        assert ctx.get("referrer", "https://app.example.com/signup") == (
            "https://app.example.com/signup"), dest
    # click ids were taken from the URL before it was cut
    assert out["meta"]["context"]["clickIds"] == {"fbc": f"fb.1.{1_750_000_000_000}.FB-9"}
    assert out["google"]["context"]["clickIds"] == {"gclid": "G-123"}
    # CRM and warehouse are not ads: the URL reaches them whole
    assert out["warehouse"]["context"]["pageUrl"] == URL
    assert out["warehouse"]["context"]["referrer"] == URL
    assert out["hubspot"]["context"]["pageUrl"] == URL


def test_the_producers_own_click_ids_win_over_the_urls(
    run: Any, make_event: Any, records: Any
) -> None:
    out = records(run(make_event("SignUp", pageUrl=URL, clickIds={"gclid": "mine"})))
    assert out["google"]["context"]["clickIds"] == {"gclid": "mine"}


def test_a_destination_may_keep_named_query_parameters(
    compile_yaml: Callable[..., CompiledPolicy], run: Any, make_event: Any, records: Any
) -> None:
    policy = compile_yaml("""
version: 1
destinations:
  meta:
    class: ads
    pii: sha256
    events: all
    url_params: ["utm_*", ref]
""")
    out = records(run(make_event("SignUp", pageUrl=URL + "&ref=x"), policy=policy))
    assert out["meta"]["context"]["pageUrl"] == (
        "https://app.example.com/signup?utm_source=news"
    )


@pytest.mark.parametrize(
    ("url", "keep", "expected"),
    [
        ("https://a.example/p", (), "https://a.example/p"),
        ("https://a.example/p?x=1#f", (), "https://a.example/p"),
        ("https://u:p@a.example:8443/p?x=1", (), "https://a.example:8443/p"),
        ("https://a.example/p?utm_source=s&email=e%40x&utm_medium=m", ("utm_*",),
         "https://a.example/p?utm_source=s&utm_medium=m"),
    ],
)
def test_strip_url(url: str, keep: tuple[str, ...], expected: str) -> None:
    assert strip_url(url, keep) == expected


def test_click_ids_in_url() -> None:
    assert click_ids_in_url("https://a.example/?ttclid=T&msclkid=M&x=1", 5) == {
        "ttclid": "T", "msclkid": "M"}
    assert click_ids_in_url("https://a.example/", 5) == {}


def test_check_policy_refuses_properties_all_on_ads(
    compile_yaml: Callable[..., CompiledPolicy],
) -> None:
    text = """
version: 1
destinations:
  meta:
    class: ads
    pii: sha256
    events: all
    properties: all
"""
    with pytest.raises(PolicyError) as info:
        compile_yaml(text)
    (problem,) = info.value.problems
    assert problem.kind == "ads_properties_all"
    assert problem.render().startswith("test.yaml:8: destinations.meta.properties: ads ")
    # an explicit allowlist is fine
    policy = compile_yaml(text.replace("properties: all", "properties: [plan, seats]"))
    assert policy.destinations == ("meta",)


def test_url_params_is_for_ads_only(compile_yaml: Callable[..., CompiledPolicy]) -> None:
    with pytest.raises(PolicyError, match="url_params applies to ads destinations only"):
        compile_yaml("""
version: 1
destinations:
  warehouse:
    class: warehouse
    pii: raw
    events: all
    url_params: [utm_source]
""")
