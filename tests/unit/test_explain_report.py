"""`eventyard explain` as a check: exit 1 when an event would be dead-lettered, skips
with the figures that decided them, the name the producer sent, and one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from eventyard.cli import main
from eventyard.routing.skips import age_against

REPO = Path(__file__).resolve().parents[2]
POLICY = str(REPO / "config" / "routing.yaml")
SIGNUP = {"event": "SignUp", "eventId": "e-1", "userId": "u-1",
          "timestamp": "2025-01-01T00:00:00Z"}


def explain(tmp_path: Path, capsys: pytest.CaptureFixture[str], events: list[dict[str, Any]],
            *args: str) -> tuple[int, list[dict[str, Any]], str]:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    code = main(["explain", "--policy", POLICY, "--json", *args, str(path)])
    captured = capsys.readouterr()
    return code, [orjson.loads(line) for line in captured.out.splitlines()], captured.err


def test_exit_1_when_any_event_is_dead_lettered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, results, _ = explain(tmp_path, capsys, [SIGNUP, {"event": "SignUp"}],
                               "--now", "2025-01-01T01:00:00Z")
    assert code == 1
    assert [r["outcome"] for r in results] == ["routed", "dead_letter"]
    code, _, _ = explain(tmp_path, capsys, [SIGNUP], "--now", "2025-01-01T01:00:00Z")
    assert code == 0


def test_too_old_says_the_age_and_the_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, [result], _ = explain(tmp_path, capsys, [SIGNUP], "--now", "2025-01-12T00:00:00Z")
    assert result["skipped"]["meta"] == "too_old"
    assert result["why"]["meta"] == "too_old: 11 d > max_age 7 d"
    assert result["why"]["google"] == "too_old: 264 h > max_age 72 h"


def test_other_skips_say_what_decided_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = {**SIGNUP, "event": "Refund", "value": 10, "currency": "EUR",
             "consent": {"crm": False}}
    _, [result], _ = explain(tmp_path, capsys, [event], "--now", "2025-01-01T01:00:00Z")
    assert result["why"]["hubspot"] == "no_consent: consent.crm is false"
    assert result["why"]["meta"] == "meta's events map does not list Refund".join(
        ["not_in_policy: ", ""])


def test_explain_shows_the_name_the_producer_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = {**SIGNUP, "event": "signup_completed"}
    _, [result], _ = explain(tmp_path, capsys, [event], "--now", "2025-01-01T01:00:00Z")
    assert (result["event"], result["sentAs"]) == ("SignUp", "signup_completed")
    assert {r["value"]["sentAs"] for r in result["records"]} == {"signup_completed"}
    path = tmp_path / "one.json"
    path.write_bytes(orjson.dumps(event))
    assert main(["explain", "--policy", POLICY, "--now", "2025-01-01T01:00:00Z",
                 str(path)]) == 0
    assert "SignUp (sent as signup_completed)" in capsys.readouterr().out


def test_a_missing_input_file_is_named_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.jsonl"
    assert main(["explain", "--policy", POLICY, str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: cannot read {missing}: No such file or directory\n"


@pytest.mark.parametrize(
    ("age_ms", "limit_ms", "says"),
    [(11 * 86_400_000, 7 * 86_400_000, "11 d > max_age 7 d"),
     (int(7.25 * 86_400_000), 7 * 86_400_000, "7.2 d > max_age 7 d"),
     (7 * 86_400_000 + 60_000, 7 * 86_400_000, "7.001 d > max_age 7 d"),
     (90 * 3_600_000, 72 * 3_600_000, "90 h > max_age 72 h"),
     (45 * 60_000, 30 * 60_000, "45 m > max_age 30 m")],
)
def test_age_against_the_limit_in_its_unit(age_ms: int, limit_ms: int, says: str) -> None:
    assert age_against(age_ms, limit_ms) == says
