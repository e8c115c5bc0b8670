"""`eventyard check-policy`: every problem in one pass, one plain sentence each, hints for
YAML's whitespace traps, and warnings that do not fail the check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eventyard.cli import main
from eventyard.errors import PolicyError
from eventyard.policy import parse_policy

LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<path>[^\s:]+): (?P<msg>[^\n]+)$")
# pydantic's own phrasing and internals: none of it may reach a person editing YAML.
PYDANTIC = re.compile(
    r"Input should|instance of|Destination|Defaults|PolicyFile|Value error|Field required|"
    r"literal\[|dict\[|list\[|\[key\]|function-|after validation|type=",
)

MANY_MISTAKES = """\
version: 2
defaults:
  dedup_window: 48
  custom_event: warehouse
destinations:
  meta:
    class: ads
    pii: sha256
    events: some
    enabled: "yes"
  Bad-Name:
    class: warehouse
    pii: raw
    events: all
  google:
    class: ads
    pii: sha256
    events:
      SignUpp: sign_up
      PageView: first_visit
  hubspot: crm
  lake:
    class: warehous
    pii: raw
    events: all
    properties: 3
"""


def check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    path = tmp_path / "routing.yaml"
    path.write_text(text)
    code = main(["check-policy", str(path)])
    captured = capsys.readouterr()
    return code, captured.err.splitlines()


def test_every_problem_schema_and_lint_alike_is_reported_in_one_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = check(tmp_path, MANY_MISTAKES, capsys)
    assert code == 1
    *lines, total = err
    found = [LINE.match(line) for line in lines]
    assert all(found), lines
    paths = [(int(m["line"]), m["path"]) for m in found if m]
    assert paths == [
        (1, "version"),
        (3, "defaults.dedup_window"),
        (4, "defaults.custom_event"),
        (9, "destinations.meta.events"),
        (10, "destinations.meta.enabled"),
        (11, "destinations.Bad-Name"),
        (11, "destinations.Bad-Name"),  # the name, and no platform: by that name
        (19, "destinations.google.events.SignUpp"),
        (20, "destinations.google.events.PageView"),
        (21, "destinations.hubspot"),
        (23, "destinations.lake.class"),
        (26, "destinations.lake.properties"),
    ]
    assert total.endswith(": 12 errors")


def test_messages_are_plain_sentences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, err = check(tmp_path, MANY_MISTAKES, capsys)
    messages: dict[str, str] = {}
    for m in map(LINE.match, err[:-1]):
        assert m
        messages[m["path"]] = messages.get(m["path"], "") + m["msg"]
    for path, msg in messages.items():
        assert not PYDANTIC.search(msg), (path, msg)
    assert messages["version"] == "must be 1, not 2"
    assert messages["defaults.custom_event"] == "unknown key; did you mean custom_events?"
    assert messages["destinations.meta.events"] == (
        "must be 'all' or a mapping of canonical event -> native name, not 'some'"
    )
    assert messages["destinations.meta.enabled"] == "must be true or false, not 'yes'"
    assert messages["destinations.hubspot"].startswith("must be a mapping")
    assert messages["destinations.lake.class"] == (
        "must be 'ads', 'crm' or 'warehouse', not 'warehous'"
    )
    assert "lower-case" in messages["destinations.Bad-Name"]


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("version: 1\ndestinations:\n\twarehouse:\n    class: warehouse\n", 3, "tab"),
        ("version: 1\ndestinations:\n  warehouse:\n  \tclass: warehouse\n", 4, "tab"),
        ("version: 1\ndestinations:\n  warehouse:\n    class: warehouse\n   pii: raw\n", 5,
         "indentation"),
        ("version: 1\ndestinations:\n  warehouse:\n    class: warehouse\n      pii: raw\n", 5,
         "indentation"),
    ],
    ids=["tab-indent", "tab-after-spaces", "dedented", "over-indented"],
)
def test_whitespace_mistakes_get_a_hint(text: str, line: int, says: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text.encode(), "routing.yaml")
    (p,) = info.value.problems
    assert (p.line, p.kind) == (line, "yaml_syntax")
    assert says in p.message


DISABLED_AND_PROTECTED = """\
version: 1
destinations:
  meta:
    class: ads
    pii: sha256
    events:
      SignUp: CompleteRegistration
      Refund: Refund
      Churned: Churned
  hubspot:
    class: crm
    pii: raw
    enabled: false
    events:
      Refund: refund
  warehouse:
    class: warehouse
    pii: raw
    events: all
"""


def test_disabled_destinations_and_protected_events_on_ads_are_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = parse_policy(DISABLED_AND_PROTECTED.encode(), "routing.yaml")
    assert [(p.line, p.path, p.kind, p.severity) for p in policy.warnings] == [
        (8, "destinations.meta.events.Refund", "protected_to_ads", "warning"),
        (9, "destinations.meta.events.Churned", "protected_to_ads", "warning"),
        (13, "destinations.hubspot.enabled", "disabled", "warning"),
    ]
    code, err = check(tmp_path, DISABLED_AND_PROTECTED, capsys)
    assert code == 0  # warnings do not fail the check
    assert len(err) == 3 and all(": warning: " in line for line in err)


def test_warnings_are_listed_with_the_errors_when_the_policy_fails() -> None:
    text = DISABLED_AND_PROTECTED.replace(
        "pii: raw\n    events: all", "pii: sha256\n    events: all"
    )
    with pytest.raises(PolicyError) as info:
        parse_policy(text.encode(), "routing.yaml")
    assert [p.kind for p in info.value.problems] == ["pii_mode"]
    assert len(info.value.warnings) == 3
    assert str(info.value).count("warning:") == 3
