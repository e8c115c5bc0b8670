"""`eventyard test-policy` and its runner: the shipped suite passes on the default policy
(so `make test` runs it), a failing case says what was expected and what happened, and a
malformed test file is reported as FILE:LINE: PATH: message."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from eventyard import telemetry
from eventyard.cli import main
from eventyard.policy import CompiledPolicy, load_policy
from eventyard.policy.testing import (
    DEFAULT_NOW,
    SKIP_REASONS,
    PolicyCase,
    discover,
    load_cases,
    run_case,
    run_suite,
)
from eventyard.taxonomy import STAGES, TAXONOMY

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "config" / "routing.yaml"
SUITE = REPO / "config" / "tests"


@pytest.fixture(scope="module")
def policy() -> CompiledPolicy:
    return load_policy(POLICY, hmac_key=None)


def write(tmp_path: Path, text: str, name: str = "case.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def cli(*args: str | Path) -> int:
    return main(["test-policy", "--policy", str(POLICY), *map(str, args)])


# --- the shipped suite ------------------------------------------------------------------------


def test_shipped_suite_passes_on_the_default_policy(policy: CompiledPolicy) -> None:
    suite = run_suite(policy, discover([SUITE]))
    failures = [f"{r.case.where} {r.case.name}: {r.failures}" for r in suite.results
                if not r.passed]
    assert not suite.problems, [p.render() for p in suite.problems]
    assert not failures, failures
    assert suite.ok and 30 <= suite.passed <= 60


def test_shipped_suite_covers_every_stage_and_destination(policy: CompiledPolicy) -> None:
    every = [c for f in discover([SUITE]) for c in load_cases(f.read_bytes(), str(f))[0]]
    cases = [c for c in every if isinstance(c, PolicyCase)]  # routing cases, not signal ones
    assert any(not isinstance(c, PolicyCase) for c in every)
    events = {c.event["event"] for c in cases if isinstance(c.event, dict)}
    assert {TAXONOMY[e].stage for e in events if e in TAXONOMY} == set(STAGES)
    asserted_sent = {d for c in cases for d in c.expect.routed or ()}
    asserted_skipped = {d for c in cases for d in c.expect.not_routed or ()}
    assert asserted_sent == set(policy.destinations)
    # The warehouse takes every event (custom ones too), so only ads and CRMs can skip.
    can_skip = {d for d, k in policy.classes.items() if k != "warehouse"}
    assert asserted_skipped == can_skip
    assert any(c.expect.dead_letter for c in cases)


def test_cli_runs_the_shipped_suite(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(SUITE) == 0
    out = capsys.readouterr().out
    assert out.strip().endswith("passed, 0 failed")


def test_skip_reasons_match_the_metric_label_list() -> None:
    assert set(SKIP_REASONS) == set(telemetry.SKIP_REASONS)


# --- a failing case ---------------------------------------------------------------------------


def test_failing_case_shows_case_expectation_and_actual(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, """\
        - name: passes
          event: {event: SignUp, eventId: e-1, userId: u-1}
          expect: {routed: [warehouse]}
        - name: Refund should (wrongly) reach Meta
          event: {event: Refund, eventId: e-2, userId: u-1, value: 5, currency: EUR}
          expect:
            routed: {meta: Refund, hubspot: refund}
            not_routed: {warehouse: excluded}
    """)
    assert cli(path) == 1
    out = capsys.readouterr().out
    assert f"FAIL {path}:4: Refund should (wrongly) reach Meta" in out
    assert "expected: sent to meta as Refund, hubspot as refund; not sent to warehouse: excluded" \
        in out
    assert "actual:   sent to hubspot as refund, salesforce as Refund, warehouse as Refund; " \
        "skipped meta: not_in_policy" in out
    assert "expected meta to be sent, but it was skipped (not_in_policy)" in out
    assert "expected warehouse not to be sent, but it was sent as Refund" in out
    assert "passes" not in out  # passing cases are quiet without -v
    assert out.strip().endswith("1 passed, 1 failed")


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        ("{dead_letter: contract.currency.missing}",
         "expected dead letter contract.currency.missing, but the event was routed"),
        ("{routed: {meta: Purchase}}", "expected meta as Purchase, but it was sent as "
                                      "CompleteRegistration"),
        ("{routed: [warehouse], only: true}", "expected only warehouse; also sent to google as "
                                             "sign_up, hubspot as sign_up"),
        ("{not_routed: {google: too_old}}", "expected google not to be sent, but it was sent"),
        ("{not_routed: [lnkedin]}", "lnkedin: not a destination of this policy"),
    ],
)
def test_each_kind_of_mismatch_is_named(
    tmp_path: Path, policy: CompiledPolicy, expect: str, message: str
) -> None:
    path = write(tmp_path, f"""\
        - name: case
          event: {{event: SignUp, eventId: e-1, userId: u-1, email: u1@example.com}}
          expect: {expect}
    """)
    cases, problems = load_cases(path.read_bytes(), str(path))
    assert not problems
    result = run_case(cases[0], policy)
    assert not result.passed
    assert any(message in f for f in result.failures), result.failures


def test_dead_letter_mismatch_names_both_reasons(tmp_path: Path, policy: CompiledPolicy) -> None:
    path = write(tmp_path, """\
        - name: case
          event: {event: Purchase, eventId: e-1, userId: u-1}
          expect: {dead_letter: contract.currency.missing}
    """)
    result = run_case(load_cases(path.read_bytes(), str(path))[0][0], policy)
    assert result.failures == (
        "expected dead letter contract.currency.missing, got taxonomy.value.missing",
    )
    assert result.actual.startswith("dead letter taxonomy.value.missing (value: required")


# --- time -------------------------------------------------------------------------------------


def test_now_defaults_to_the_event_time_then_to_a_fixed_time(
    tmp_path: Path, policy: CompiledPolicy
) -> None:
    path = write(tmp_path, """\
        - name: a years-old event is fresh at its own time (unquoted YAML timestamp)
          event: {event: SignUp, eventId: e-1, userId: u-1, email: u1@example.com,
                  timestamp: 2019-03-01T10:00:00Z}
          expect: {routed: {google: sign_up}}
        - name: no timestamp runs at the fixed default time
          event: {event: SignUp, eventId: e-2, userId: u-1, email: u1@example.com}
          expect: {routed: [google]}
        - name: an explicit now makes it old
          now: "2019-03-05T10:00:00+00:00"
          event: {event: SignUp, eventId: e-3, userId: u-1, email: u1@example.com,
                  timestamp: "2019-03-01T10:00:00Z"}
          expect: {not_routed: {google: too_old}, routed: [linkedin]}
    """)
    cases, problems = load_cases(path.read_bytes(), str(path))
    assert not problems
    assert [run_case(c, policy).failures for c in cases] == [(), (), ()]
    assert DEFAULT_NOW.tzinfo is not None


# --- malformed test files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- name: a\n  event: {event: SignUp}\n  expect: {routed: [meta]}\n  extra: 1\n",
         ":4: [0].extra: unknown key"),
        ("- name: a\n  event: {event: SignUp}\n  expect:\n    routed: [meta]\n"
         "    dead_letter: decode.empty\n",
         ":3: [0].expect: dead_letter cannot be combined with routed"),
        ("- name: a\n  event: {event: SignUp}\n  expect:\n    dead_letter: contract.nope\n",
         ":4: [0].expect.dead_letter: unknown reason code 'contract.nope'"),
        ("- name: a\n  event: {event: SignUp}\n  expect:\n    not_routed: {meta: nope}\n",
         ":4: [0].expect.not_routed.meta: Input should be 'not_in_policy'"),
        ("- name: a\n  event: {event: SignUp}\n  expect: {}\n",
         ":3: [0].expect: needs routed, not_routed or dead_letter"),
        ("- name: a\n  event: [1]\n  expect: {routed: [meta]}\n",
         ":2: [0].event: must be a mapping (the raw event) or a string"),
        ("- name: a\n  now: tomorrow\n  event: {}\n  expect: {routed: [meta]}\n",
         ":2: [0].now: Input should be a valid datetime"),
        ("- name: a\n  event: {}\n  expect: {routed: [meta]}\n"
         "- name: a\n  event: {}\n  expect: {routed: [meta]}\n",
         ":4: [1].name: duplicate case name (first used on line 1)"),
        ("- just a string\n", ":1: [0]: a case must be a mapping"),
        ("name: a\n", ":1: <root>: a test file is a non-empty list of cases"),
        ("- name: a\n  event: {event: [\n", ":3: <root>: YAML syntax error"),
        ("# nothing but a comment\n", ":1: <root>: the test file has no cases"),
    ],
)
def test_malformed_test_file_is_reported_with_file_and_line(text: str, expected: str) -> None:
    _, problems = load_cases(text.encode(), "t.yaml")
    rendered = [p.render() for p in problems]
    assert any(r.startswith("t.yaml" + expected) for r in rendered), rendered


def test_malformed_file_fails_the_cli_and_the_rest_still_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, """\
        - name: ok
          event: {event: SignUp, eventId: e-1, userId: u-1}
          expect: {routed: [warehouse]}
    """, "good.yaml")
    bad = write(tmp_path, """\
        - name: typo in a key
          event: {event: SignUp, eventId: e-1, userId: u-1}
          expcet: {routed: [warehouse]}
    """, "bad.yaml")
    assert cli(good, bad) == 1
    captured = capsys.readouterr()
    assert f"{bad}:3: [0].expcet: unknown key" in captured.err
    assert f"{bad}:1: [0].expect: Field required" in captured.err
    assert "1 passed, 0 failed, 1 test file(s) with problems" in captured.out


def test_not_utf8_test_file() -> None:
    _, problems = load_cases(b"- name: \xff\n", "t.yaml")
    assert [p.render() for p in problems] == ["t.yaml:1: <root>: the file is not UTF-8"]


# --- exit codes -------------------------------------------------------------------------------


def test_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    passing = write(tmp_path, """\
        - name: ok
          event: '{"event": "SignUp", "eventId": "e-1", "userId": "u-1"}'
          expect: {routed: {meta: CompleteRegistration}}
    """, "passing.yaml")
    failing = write(tmp_path, """\
        - name: wrong
          event: {event: SignUp, eventId: e-1, userId: u-1}
          expect: {dead_letter: decode.empty}
    """, "failing.yaml")
    (tmp_path / "empty").mkdir()
    bad_policy = write(tmp_path, "version: 2\n", "policy.yaml")

    assert cli(passing) == 0
    assert cli(failing) == 1
    assert cli(passing, failing) == 1
    assert cli(tmp_path / "missing.yaml") == 1
    assert cli(tmp_path / "empty") == 1  # an empty suite is not a pass
    assert main(["test-policy", "--policy", str(bad_policy), str(passing)]) == 1
    err = capsys.readouterr().err
    assert f"{bad_policy}:1: version:" in err
    assert "no test files found" in err
