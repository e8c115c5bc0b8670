"""Routing policy: loading with FILE:LINE problems, lint rules, versioning, compilation."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from eventyard.errors import PolicyError, PolicyProblem
from eventyard.policy import CompiledPolicy, load_policy, parse_policy, policy_version
from eventyard.taxonomy import TAXONOMY

REPO = Path(__file__).resolve().parents[2]
DEFAULT = REPO / "config" / "routing.yaml"
PROTECTED = {n for n, e in TAXONOMY.items() if e.ads_protected}
RENDERED = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<path>\S+): (?P<msg>.+)$")

WAREHOUSE = """\
  warehouse:
    class: warehouse
    pii: raw
    events: all
"""


def doc(body: str, *, header: str = "version: 1\ndestinations:\n") -> str:
    return header + textwrap.indent(textwrap.dedent(body).strip("\n"), "  ") + "\n"


def problems_of(text: str, hmac_key: bytes | None = None) -> list[PolicyProblem]:
    with pytest.raises(PolicyError) as info:
        parse_policy(text.encode(), "routing.yaml", hmac_key=hmac_key)
    assert info.value.problems, "PolicyError without problems"
    for p in info.value.problems:
        assert RENDERED.match(p.render()), p.render()
        assert p.file == "routing.yaml"
    return info.value.problems


def line_of(text: str, marker: str, nth: int = 1) -> int:
    hits = [i for i, line in enumerate(text.splitlines(), 1) if marker in line]
    assert len(hits) >= nth, f"{marker!r} not in the document"
    return hits[nth - 1]


def only(problems: list[PolicyProblem]) -> PolicyProblem:
    assert len(problems) == 1, [p.render() for p in problems]
    return problems[0]


# ------------------------------------------------------------------ the default policy


def test_default_policy_loads(default_policy: CompiledPolicy) -> None:
    assert default_policy.destinations == (
        "meta", "google", "linkedin", "tiktok", "reddit", "hubspot", "salesforce", "warehouse"
    )
    assert default_policy.classes == {
        "meta": "ads", "google": "ads", "linkedin": "ads", "tiktok": "ads", "reddit": "ads",
        "hubspot": "crm", "salesforce": "crm", "warehouse": "warehouse",
    }
    assert default_policy.dedup_window_ms == 48 * 3_600_000
    assert default_policy.custom_events == "warehouse"
    # Every canonical event, and the derived events of the signals: section.
    signals = {s.name for s in default_policy.signals}
    assert signals == {"ProductQualifiedLead", "TrialGoneQuiet"}
    assert set(default_policy.routes) == set(TAXONOMY) | signals
    assert default_policy.hmac_key is None


def test_default_policy_summary(default_policy: CompiledPolicy) -> None:
    routes = sum(len(r) for c, r in default_policy.routes.items() if c in TAXONOMY)
    assert routes == 215  # the non-null cells of tests/unit/data/default-mapping.yaml
    summary = default_policy.summary()
    assert summary == (
        f"policy {default_policy.version}: 8 destinations (meta, google, linkedin, tiktok, "
        "reddit, hubspot, salesforce, warehouse), 215 routes over 66 canonical events, "
        "3 aliases, custom events -> warehouse, dedup window 48h, "
        "2 signals (ProductQualifiedLead, TrialGoneQuiet)"
    )


def test_version_is_a_content_hash() -> None:
    data = DEFAULT.read_bytes()
    policy = parse_policy(data, "a.yaml")
    assert policy.version == policy_version(data)
    assert re.fullmatch(r"[0-9a-f]{12}", policy.version)
    assert parse_policy(data, "elsewhere.yaml").version == policy.version  # name-independent
    edited = data.replace(b"# eventyard routing policy", b"# eventyard routing policy ")
    assert edited != data
    assert parse_policy(edited, "a.yaml").version != policy.version
    assert parse_policy(data + b"\n", "a.yaml").version != policy.version  # bytes, not YAML


def test_parse_and_load_agree(default_policy: CompiledPolicy) -> None:
    parsed = parse_policy(DEFAULT.read_bytes(), str(DEFAULT))
    assert parsed.version == default_policy.version
    assert parsed.destinations == default_policy.destinations
    assert parsed.routes == default_policy.routes
    assert parsed.skips == default_policy.skips
    assert parsed.custom_routes == default_policy.custom_routes
    assert default_policy.source == str(DEFAULT)


def test_load_policy_reports_an_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(PolicyError) as info:
        load_policy(missing)
    p = only(info.value.problems)
    assert (p.file, p.line, p.kind) == (str(missing), 1, "unreadable_file")


def test_load_policy_takes_the_hmac_key_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(doc("  warehouse:\n    class: warehouse\n    pii: hmac\n    events: all\n"))
    with pytest.raises(PolicyError):
        load_policy(path)
    monkeypatch.setenv("EVENTYARD_HMAC_KEY", "s3cret")
    assert load_policy(path).hmac_key == b"s3cret"


# ------------------------------------------------------------------ YAML-level problems


def test_yaml_syntax_error_names_its_line() -> None:
    text = "version: 1\ndestinations:\n  warehouse: {class: warehouse\n  google: 1\n"
    p = only(problems_of(text))
    assert (p.line, p.kind) == (4, "yaml_syntax")


def test_bad_indentation_is_a_syntax_error_on_its_line() -> None:
    text = doc("""
      warehouse:
        class: warehouse
       pii: raw
        events: all
    """)
    p = only(problems_of(text))
    assert (p.line, p.kind) == (line_of(text, "pii: raw"), "yaml_syntax")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(text: str) -> None:
    p = only(problems_of(text))
    assert (p.line, p.path, p.kind) == (1, "", "empty_file")
    assert p.render() == "routing.yaml:1: <root>: the policy file is empty"


def test_root_must_be_a_mapping() -> None:
    assert only(problems_of("- version\n- 1\n")).kind == "not_a_mapping"


def test_not_utf8() -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(b"version: 1\n\xff\n", "routing.yaml")
    assert only(info.value.problems).kind == "not_utf8"


def test_duplicate_destination_names_both_lines() -> None:
    text = doc(WAREHOUSE + WAREHOUSE)
    p = only(problems_of(text))
    assert p.line == line_of(text, "warehouse:", 2)
    assert (p.path, p.kind) == ("destinations.warehouse", "duplicate_key")
    assert f"first defined on line {line_of(text, 'warehouse:', 1)}" in p.message


def test_duplicate_inner_key() -> None:
    text = doc("""
      warehouse:
        class: warehouse
        pii: raw
        events: all
        pii: drop
    """)
    p = only(problems_of(text))
    assert (p.line, p.path) == (line_of(text, "pii: drop"), "destinations.warehouse.pii")
    assert p.kind == "duplicate_key"


def test_non_scalar_key() -> None:
    text = doc(WAREHOUSE + "    ? [a, b]\n    : 1\n")
    p = only(problems_of(text))
    assert (p.line, p.path) == (line_of(text, "? [a, b]"), "destinations.warehouse")
    assert p.kind == "bad_key"


# ------------------------------------------------------------------ structural problems


def test_unknown_top_level_key() -> None:
    text = "version: 1\nrouting: fast\ndestinations:\n" + WAREHOUSE
    p = only(problems_of(text))
    assert (p.line, p.path, p.kind) == (2, "routing", "unknown_key")


def test_unknown_destination_key() -> None:
    text = doc(WAREHOUSE + "    colour: blue\n")
    p = only(problems_of(text))
    assert (p.line, p.path) == (line_of(text, "colour"), "destinations.warehouse.colour")
    assert p.kind == "unknown_key"


@pytest.mark.parametrize("version", ["2", "'1'", "0"])
def test_version_must_be_1(version: str) -> None:
    text = f"# policy\nversion: {version}\ndestinations:\n" + WAREHOUSE
    p = only(problems_of(text))
    assert (p.line, p.path, p.kind) == (2, "version", "bad_value")


def test_no_destinations() -> None:
    p = only(problems_of("version: 1\ndestinations: {}\n"))
    assert (p.line, p.path) == (2, "destinations")
    p = only(problems_of("version: 1\n"))
    assert (p.path, p.kind) == ("destinations", "missing_key")


@pytest.mark.parametrize(
    ("bad", "says"),
    [("2 days", "duration"), ("48", "duration"), ("0h", "zero"), ("-1d", "duration"),
     ("1w", "duration")],
)
def test_bad_duration(bad: str, says: str) -> None:
    text = f"version: 1\ndefaults:\n  dedup_window: {bad}\ndestinations:\n" + WAREHOUSE
    p = only(problems_of(text))
    assert (p.line, p.path) == (3, "defaults.dedup_window")
    assert says in p.message


def test_bad_max_age() -> None:
    text = doc("""
      meta:
        class: ads
        pii: sha256
        max_age: a week
        events:
          SignUp: CompleteRegistration
    """)
    p = only(problems_of(text))
    assert (p.line, p.path) == (line_of(text, "max_age"), "destinations.meta.max_age")


def test_bad_custom_events_mode() -> None:
    text = "version: 1\ndefaults:\n  custom_events: drop\ndestinations:\n" + WAREHOUSE
    p = only(problems_of(text))
    assert (p.line, p.path) == (3, "defaults.custom_events")


# ------------------------------------------------------------------ lint problems


def test_unknown_canonical_event_suggests_the_name() -> None:
    text = doc("""
      meta:
        class: ads
        pii: sha256
        events:
          SignUpp: CompleteRegistration
    """)
    p = only(problems_of(text))
    assert p.render() == (
        f"routing.yaml:{line_of(text, 'SignUpp')}: destinations.meta.events.SignUpp: "
        "unknown canonical event; did you mean SignUp?"
    )


def test_unknown_canonical_event_without_a_guess() -> None:
    text = doc("""
      meta:
        class: ads
        pii: sha256
        events:
          Xylophone: Xylophone
    """)
    p = only(problems_of(text))
    assert p.kind == "unknown_event" and "did you mean" not in p.message


NATIVE_NAME_CASES = [
    pytest.param("meta", "ads", "sha256", "M" * 41, "40 characters", id="meta-too-long"),
    pytest.param("meta", "ads", "sha256", "Complete Registration", "letters", id="meta-space"),
    pytest.param("tiktok", "ads", "sha256", "1st_signup", "start with a letter", id="tiktok"),
    pytest.param("google", "ads", "sha256", "first_visit", "reserves", id="google-reserved"),
    pytest.param("google", "ads", "sha256", "firebase_signup", "reserves",
                 id="google-reserved-prefix"),
    pytest.param("google", "ads", "sha256", "sign-up", "letters, digits and _",
                 id="google-dash"),
    pytest.param("linkedin", "ads", "sha256", "SignUp", "conversion rule type",
                 id="linkedin-free-name"),
    pytest.param("reddit", "ads", "sha256", "CUSTOM:", "CUSTOM:", id="reddit-empty-custom"),
    pytest.param("reddit", "ads", "sha256", "CUSTOM:" + "r" * 65, "64", id="reddit-long-custom"),
    pytest.param("reddit", "ads", "sha256", "SignUp", "tracking type", id="reddit-free-name"),
    pytest.param("hubspot", "crm", "raw", "SignUp", "lowercase", id="hubspot-uppercase"),
    pytest.param("hubspot", "crm", "raw", "s" * 51, "50", id="hubspot-too-long"),
    pytest.param("salesforce", "crm", "raw", "Sign__Up", "single _",
                 id="salesforce-double-underscore"),
    pytest.param("salesforce", "crm", "raw", "SignUp_", "single _",
                 id="salesforce-trailing-underscore"),
]


@pytest.mark.parametrize(("platform", "klass", "pii", "native", "says"), NATIVE_NAME_CASES)
def test_bad_native_name_per_platform(
    platform: str, klass: str, pii: str, native: str, says: str
) -> None:
    text = doc(f"""
      {platform}:
        class: {klass}
        pii: {pii}
        events:
          SignUp: "{native}"
    """)
    p = only(problems_of(text))
    assert (p.line, p.path) == (line_of(text, "SignUp:"), f"destinations.{platform}.events.SignUp")
    assert p.kind == "native_name"
    assert says in p.message  # which of the platform's rules it broke


@pytest.mark.parametrize("platform", ["hubspot", "salesforce", "meta"])
def test_a_trailing_newline_is_not_part_of_a_valid_native_name(platform: str) -> None:
    klass, pii = ("crm", "raw") if platform != "meta" else ("ads", "sha256")
    text = doc(f"""
      {platform}:
        class: {klass}
        pii: {pii}
        events:
          SignUp: "sign_up\\n"
    """)
    p = only(problems_of(text))
    assert p.path == f"destinations.{platform}.events.SignUp"


def test_a_trailing_newline_is_not_a_duration() -> None:
    text = 'version: 1\ndefaults:\n  dedup_window: "48h\\n"\ndestinations:\n' + WAREHOUSE
    p = only(problems_of(text))
    assert p.path == "defaults.dedup_window"


@pytest.mark.parametrize(
    ("platform", "klass", "pii", "native"),
    [("meta", "ads", "sha256", "M" * 40), ("google", "ads", "sha256", "sign_up"),
     ("linkedin", "ads", "sha256", "SIGN_UP"), ("reddit", "ads", "sha256", "CUSTOM:" + "r" * 64),
     ("reddit", "ads", "sha256", "SIGN_UP"), ("hubspot", "crm", "raw", "s" * 50),
     ("salesforce", "crm", "raw", "Sign_Up"), ("x", "ads", "sha256", "tw:sign-up.v1")],
)
def test_good_native_names_pass(platform: str, klass: str, pii: str, native: str) -> None:
    text = doc(f"""
      {platform}:
        class: {klass}
        pii: {pii}
        events:
          SignUp: "{native}"
    """)
    policy = parse_policy(text.encode(), "routing.yaml")
    assert [r.name for r in policy.routes["SignUp"]] == [native]


def test_ads_with_raw_pii() -> None:
    text = doc("""
      meta:
        class: ads
        pii: raw
        events: all
    """)
    p = only(problems_of(text))
    assert (p.line, p.path) == (line_of(text, "pii: raw"), "destinations.meta.pii")
    assert p.kind == "pii_mode"


def test_crm_with_hmac() -> None:
    text = doc("""
      hubspot:
        class: crm
        pii: hmac
        events:
          SignUp: sign_up
    """)
    assert [(p.path, p.kind) for p in problems_of(text, hmac_key=b"k")] == [
        ("destinations.hubspot.pii", "pii_mode")
    ]


def test_hmac_without_a_key() -> None:
    text = doc("""
      warehouse:
        class: warehouse
        pii: hmac
        events: all
    """)
    p = only(problems_of(text))
    assert (p.line, p.path) == (line_of(text, "pii: hmac"), "destinations.warehouse.pii")
    assert p.kind == "hmac_key_missing"
    assert parse_policy(text.encode(), "routing.yaml", hmac_key=b"k").hmac_key == b"k"


def test_platform_class_mismatch() -> None:
    text = doc("""
      meta:
        class: crm
        pii: raw
        events: all
    """)
    p = only(problems_of(text))
    assert (p.line, p.path) == (line_of(text, "class: crm"), "destinations.meta.class")
    assert p.kind == "wrong_class"


def test_unknown_platform_needs_platform_key() -> None:
    text = doc("""
      lake:
        class: warehouse
        pii: raw
        events: all
    """)
    p = only(problems_of(text))
    assert (p.line, p.path) == (line_of(text, "lake:"), "destinations.lake")
    assert p.kind == "unknown_platform"
    fixed = text.replace("    class: warehouse", "    platform: warehouse\n    class: warehouse")
    assert parse_policy(fixed.encode(), "routing.yaml").destinations == ("lake",)


def test_exclude_with_an_events_map() -> None:
    text = doc("""
      hubspot:
        class: crm
        pii: raw
        events:
          SignUp: sign_up
        exclude: [PageView]
    """)
    p = only(problems_of(text))
    assert (p.line, p.path) == (line_of(text, "exclude"), "destinations.hubspot.exclude")
    assert p.kind == "exclude_with_map"


def test_exclude_of_an_unknown_event() -> None:
    text = doc("""
      warehouse:
        class: warehouse
        pii: raw
        events: all
        exclude:
          - PageView
          - PageVeiw
    """)
    p = only(problems_of(text))
    assert (p.line, p.path) == (line_of(text, "PageVeiw"), "destinations.warehouse.exclude.1")
    assert p.kind == "unknown_event" and "did you mean PageView?" in p.message


def test_empty_properties_list_on_ads() -> None:
    text = doc("""
      meta:
        class: ads
        pii: sha256
        events: all
        properties: []
    """)
    p = only(problems_of(text))
    assert (p.path, p.kind) == ("destinations.meta.properties", "empty_properties")


def test_every_problem_is_reported_at_once_sorted_by_line() -> None:
    text = doc("""
      meta:
        class: ads
        pii: raw
        events:
          SignUpp: CompleteRegistration
          Purchase: ThisNativeNameIsFarTooLongForMetaToAcceptIt
      google:
        class: ads
        pii: sha256
        events:
          PageView: first_visit
      linkedin:
        class: ads
        pii: sha256
        events:
          SignUp: SignUp
      hubspot:
        class: ads
        pii: sha256
        events:
          SignUp: sign_up
      salesforce:
        class: crm
        pii: raw
        events:
          SignUp: Sign__Up
        exclude: [PageView]
      lake:
        class: warehouse
        pii: raw
        events: all
      warehouse:
        class: warehouse
        pii: hmac
        events: all
        colour: blue
    """, header="version: 2\ndefaults:\n  dedup_window: soon\ndestinations:\n")
    problems = problems_of(text)
    found = [(p.line, p.path) for p in problems]
    expected = [
        (line_of(text, "version"), "version"),
        (line_of(text, "dedup_window"), "defaults.dedup_window"),
        (line_of(text, "pii: raw"), "destinations.meta.pii"),
        (line_of(text, "SignUpp"), "destinations.meta.events.SignUpp"),
        (line_of(text, "ThisNative"), "destinations.meta.events.Purchase"),
        (line_of(text, "first_visit"), "destinations.google.events.PageView"),
        (line_of(text, "SignUp: SignUp"), "destinations.linkedin.events.SignUp"),
        (line_of(text, "class: ads", 4), "destinations.hubspot.class"),
        (line_of(text, "Sign__Up"), "destinations.salesforce.events.SignUp"),
        (line_of(text, "exclude"), "destinations.salesforce.exclude"),
        (line_of(text, "lake:"), "destinations.lake"),
        (line_of(text, "pii: hmac"), "destinations.warehouse.pii"),
        (line_of(text, "colour"), "destinations.warehouse.colour"),
    ]
    assert sorted(found) == sorted(expected)
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    message = str(PolicyError(problems))
    assert message.count("\n") == len(problems) - 1


def test_problems_from_several_layers_in_one_destination_are_all_reported() -> None:
    # An unknown key does not hide the lint findings of the same destination.
    text = doc("""
      google:
        class: ads
        pii: sha256
        colour: blue
        events:
          PageView: first_visit
    """)
    assert {p.path for p in problems_of(text)} == {
        "destinations.google.colour", "destinations.google.events.PageView"
    }


def test_bad_max_age_does_not_hide_a_bad_native_name() -> None:
    text = doc("""
      google:
        class: ads
        pii: sha256
        max_age: soon
        events:
          PageView: first_visit
    """)
    assert {p.path for p in problems_of(text)} == {
        "destinations.google.max_age", "destinations.google.events.PageView"
    }


def test_non_string_native_name_points_at_its_own_line() -> None:
    text = doc("""
      meta:
        class: ads
        pii: sha256
        events:
          PageView: PageView
          SignUp: 5
    """)
    p = only(problems_of(text))
    assert (p.line, p.path) == (line_of(text, "SignUp: 5"), "destinations.meta.events.SignUp")


# ------------------------------------------------------------------ compile


def _ads_all(extra: str = "") -> str:
    return doc(f"""
      meta:
        class: ads
        pii: sha256
        events: all
        {extra}
    """) + WAREHOUSE


def test_events_all_on_ads_never_routes_protected_events(
    compile_yaml: Any, run: Any, make_event: Any, records: Any
) -> None:
    policy = compile_yaml(_ads_all())
    assert len(PROTECTED) == 25
    for name in TAXONOMY:
        dests = {r.destination: r.name for r in policy.routes[name]}
        if name in PROTECTED:
            assert "meta" not in dests, name
            assert policy.skips[name]["meta"] == "excluded"
        else:
            assert dests["meta"] == name  # `all` means the canonical name
        assert dests["warehouse"] == name
    outcome = run(make_event("Refund"), policy=policy)
    assert set(records(outcome)) == {"warehouse"}
    assert outcome.skipped == {"meta": "excluded"}


def test_explicit_events_map_can_send_a_protected_event(
    compile_yaml: Any, run: Any, make_event: Any, records: Any
) -> None:
    policy = compile_yaml(doc("""
      meta:
        class: ads
        pii: sha256
        events:
          Refund: RefundIssued
    """))
    assert [r.name for r in policy.routes["Refund"]] == ["RefundIssued"]
    assert policy.skips["Chargeback"] == {"meta": "not_in_policy"}
    out = records(run(make_event("Refund"), policy=policy))
    assert out["meta"]["name"] == "RefundIssued"


def test_exclude_removes_events_from_all(compile_yaml: Any) -> None:
    policy = compile_yaml(doc(WAREHOUSE + "    exclude: [PageView, FeatureUsed]\n"))
    assert policy.routes["PageView"] == () and policy.routes["FeatureUsed"] == ()
    assert policy.skips["PageView"] == {"warehouse": "excluded"}
    assert [r.name for r in policy.routes["SignUp"]] == ["SignUp"]


def test_disabled_destination_is_gone(compile_yaml: Any) -> None:
    policy = compile_yaml(_ads_all("enabled: false"))
    assert policy.destinations == ("warehouse",)
    assert all("meta" not in skips for skips in policy.skips.values())
    assert all(r.destination == "warehouse" for rs in policy.routes.values() for r in rs)
    assert "meta" not in policy.custom_skips


def test_route_defaults_come_from_the_platform(default_policy: CompiledPolicy) -> None:
    by_dest = {r.destination: r for r in default_policy.routes["SignUp"]}
    assert by_dest["meta"].max_age_ms == 7 * 86_400_000
    assert by_dest["google"].max_age_ms == 72 * 3_600_000
    assert by_dest["linkedin"].max_age_ms == 90 * 86_400_000
    assert by_dest["hubspot"].max_age_ms is None and by_dest["warehouse"].max_age_ms is None
    assert by_dest["meta"].properties == "none" and by_dest["warehouse"].properties == "all"
    assert by_dest["warehouse"].consent_key is None and by_dest["meta"].consent_key == "ads"


def test_max_age_override_and_properties_allowlist(compile_yaml: Any) -> None:
    policy = compile_yaml(_ads_all("max_age: 36h\n        properties: [plan, seats]"))
    meta = next(r for r in policy.routes["SignUp"] if r.destination == "meta")
    assert meta.max_age_ms == 36 * 3_600_000
    assert meta.properties == frozenset({"plan", "seats"})


def test_custom_events_reject(compile_yaml: Any, run: Any, make_event: Any) -> None:
    policy = compile_yaml("version: 1\ndefaults:\n  custom_events: reject\ndestinations:\n"
                          + WAREHOUSE)
    outcome = run(make_event("InvoiceDownloaded"), policy=policy)
    assert outcome.reason == "taxonomy.unknown_event"
    assert outcome.detail.startswith("event:") and "rejects custom events" in outcome.detail
    # The same event is fine under the default policy (custom_events: warehouse).
    assert run(make_event("InvoiceDownloaded")).records


def test_custom_events_warehouse_only(
    default_policy: CompiledPolicy, run: Any, make_event: Any, records: Any
) -> None:
    outcome = run(make_event("InvoiceDownloaded"))
    out = records(outcome)
    assert set(out) == {"warehouse"}
    assert out["warehouse"]["name"] == out["warehouse"]["event"] == "InvoiceDownloaded"
    others = set(default_policy.destinations) - {"warehouse"}
    assert outcome.skipped == {d: "custom_event" for d in others}
    routed_to = out["warehouse"]["routedTo"]
    assert routed_to == {d: {"status": "skipped", "reason": "custom_event"} for d in others}


def test_custom_events_skip_a_warehouse_with_an_events_map(compile_yaml: Any) -> None:
    policy = compile_yaml(doc("""
      warehouse:
        class: warehouse
        pii: raw
        events:
          SignUp: SignUp
      lake:
        platform: warehouse
        class: warehouse
        pii: raw
        events: all
    """))
    assert [r.destination for r in policy.custom_routes] == ["lake"]
    assert policy.custom_skips == {"warehouse": "custom_event"}


def test_summary_reports_a_sub_hour_dedup_window(compile_yaml: Any) -> None:
    policy = compile_yaml("version: 1\ndefaults:\n  dedup_window: 30m\ndestinations:\n"
                          + WAREHOUSE)
    assert policy.dedup_window_ms == 30 * 60_000
    assert "dedup window 0h" not in policy.summary()


@pytest.mark.parametrize("platform", ["hubspot", "linkedin", "reddit"])
def test_events_all_is_refused_where_the_platform_rejects_canonical_names(platform: str) -> None:
    klass = "crm" if platform == "hubspot" else "ads"
    pii = "raw" if klass == "crm" else "sha256"
    text = doc(f"""
      {platform}:
        class: {klass}
        pii: {pii}
        events: all
    """)
    p = only(problems_of(text))
    assert p.path == f"destinations.{platform}.events"
    assert p.kind == "all_names_rejected"


@pytest.mark.parametrize("platform", ["meta", "tiktok", "salesforce", "warehouse"])
def test_events_all_is_fine_where_canonical_names_are_valid(platform: str) -> None:
    klass = {"salesforce": "crm", "warehouse": "warehouse"}.get(platform, "ads")
    pii = {"ads": "sha256"}.get(klass, "raw")
    text = doc(f"""
      {platform}:
        class: {klass}
        pii: {pii}
        events: all
    """)
    parse_policy(text.encode(), "routing.yaml")  # compiles: no PolicyError
