"""`eventyard diff-policy`: what changes between two policies, per event and destination."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventyard.cli import main
from eventyard.policy import CompiledPolicy, parse_policy
from eventyard.policy.diff import EventChange, RuleChange, diff_policies

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = (ROOT / "config" / "routing.yaml").read_text()


def _edit(text: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def _compile(text: str) -> CompiledPolicy:
    return parse_policy(text.encode(), "routing.yaml")


def test_same_routing_is_no_change() -> None:
    old = _compile(DEFAULT)
    new = _compile(DEFAULT + "\n# a comment only\n")
    assert old.version != new.version
    diff = diff_policies(old, new)
    assert diff.empty and diff.headline() == "no routing change"


def test_renames_gains_losses_and_rules() -> None:
    old = _compile(DEFAULT)
    new = _compile(_edit(
        DEFAULT,
        ("      SignUp: CompleteRegistration\n", "      SignUp: Lead\n"),  # meta rename
        ("      PageView: PageView\n", ""),  # meta loses PageView
        ("      ChatStarted: Contact\n", "      ChatStarted: Contact\n      Refund: Refund\n"),
        ("    max_age: 7d\n    consent: assumed\n", "    max_age: 2d\n    consent: required\n"),
        ("custom_events: warehouse", "custom_events: reject"),
    ))
    diff = diff_policies(old, new)
    assert EventChange("SignUp", "meta", "renamed", "CompleteRegistration", "Lead") in diff.events
    assert EventChange("PageView", "meta", "lost", "PageView", "not_in_policy") in diff.events
    # Refund reached no ad platform through the map before; now meta names it explicitly.
    assert EventChange("Refund", "meta", "gained", "not_in_policy", "Refund") in diff.events
    assert RuleChange("meta", "consent", "assumed", "required") in diff.rules
    assert RuleChange("meta", "max_age", "168h", "48h") in diff.rules
    assert RuleChange("defaults", "custom_events", "warehouse", "reject") in diff.rules
    # Nothing else moved: every other destination routes exactly as before.
    assert {e.destination for e in diff.events} == {"meta"}
    assert diff.counts() == {"gained": 1, "lost": 1, "renamed": 1}
    log = diff.log_text()
    assert log.startswith("3 rule change(s), 1 route(s) gained, 1 lost, 1 renamed: ")
    assert "SignUp → meta: CompleteRegistration → Lead" in log


def test_a_disabled_destination_loses_its_routes() -> None:
    old = _compile(DEFAULT)
    new = _compile(_edit(DEFAULT, ("  reddit:\n", "  reddit:\n    enabled: false\n")))
    diff = diff_policies(old, new)
    assert RuleChange("reddit", "destination", "enabled", "absent") in diff.rules
    lost = [e for e in diff.events if e.destination == "reddit"]
    assert lost and all(e.kind == "lost" for e in lost)
    assert {e.destination for e in diff.events} == {"reddit"}


def test_cli_prints_the_diff_and_refuses_a_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new, bad = tmp_path / "old.yaml", tmp_path / "new.yaml", tmp_path / "bad.yaml"
    old.write_text(DEFAULT)
    new.write_text(_edit(DEFAULT, ("      SignUp: CompleteRegistration\n", "      SignUp: Lead\n")))
    bad.write_text(_edit(DEFAULT, ("      SignUp: CompleteRegistration\n",
                                   "      SignUpp: CompleteRegistration\n")))
    assert main(["diff-policy", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert "0 route(s) gained, 0 lost, 1 renamed" in out
    assert "SignUp → meta: CompleteRegistration → Lead" in out
    assert main(["diff-policy", str(old), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml:" in err and "SignUpp" in err and "nothing to diff" in err
