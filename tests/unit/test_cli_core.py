"""`eventyard check-policy` and `eventyard explain`, run in-process (plus one real entry
point): exit codes, output shapes, and that explain uses the hot-path code."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from eventyard.cli import main
from eventyard.policy import load_policy

REPO = Path(__file__).resolve().parents[2]
POLICY = str(REPO / "config" / "routing.yaml")
PROBLEM_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<path>[^\s:]+): (?P<msg>.+)$")

SIGNUP = {"event": "SignUp", "eventId": "evt-cli-1", "userId": "user-7f3a",
          "email": "Jane.Doe@Example.com", "timestamp": "2025-01-01T00:00:00Z"}

BAD_POLICY = """\
version: 1
destinations:
  meta:
    class: ads
    pii: raw
    events:
      SignUpp: CompleteRegistration
  google:
    class: ads
    pii: sha256
    events:
      PageView: first_visit
  lake:
    class: warehouse
    pii: raw
    events: all
"""


@pytest.fixture
def event_file(tmp_path: Path) -> Any:
    def write(event: dict[str, Any] | bytes, name: str = "event.json") -> str:
        path = tmp_path / name
        path.write_bytes(event if isinstance(event, bytes) else orjson.dumps(event) + b"\n")
        return str(path)

    return write


def explain_json(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> dict[str, Any]:
    assert main(["explain", "--policy", POLICY, "--json", *args]) == code
    out = capsys.readouterr().out
    result: dict[str, Any] = orjson.loads(out)
    return result


# ------------------------------------------------------------------ check-policy


def test_check_policy_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-policy", POLICY]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 1 and captured.err == ""
    version = load_policy(POLICY).version
    assert lines[0].startswith(f"{POLICY}: ok, policy {version}: 8 destinations")
    assert "215 routes" in lines[0]


def test_check_policy_reports_every_problem(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(BAD_POLICY)
    assert main(["check-policy", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    *problems, total = captured.err.splitlines()
    assert total == f"{path}: {len(problems)} errors"
    parsed = [PROBLEM_LINE.match(line) for line in problems]
    assert all(parsed), problems
    found = {(int(m["line"]), m["path"]) for m in parsed if m}
    assert all(m["file"] == str(path) for m in parsed if m)
    assert found == {
        (5, "destinations.meta.pii"),
        (7, "destinations.meta.events.SignUpp"),
        (12, "destinations.google.events.PageView"),
        (13, "destinations.lake"),
    }
    assert any("did you mean SignUp?" in line for line in problems)


def test_check_policy_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yaml"
    assert main(["check-policy", str(missing)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {missing}:1: <root>: cannot read the file")


def test_check_policy_through_the_installed_entry_point() -> None:
    exe = Path(sys.executable).with_name("eventyard")
    if not exe.exists():
        pytest.skip("eventyard console script not installed next to this interpreter")
    proc = subprocess.run([str(exe), "check-policy", POLICY], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("\n") == 1 and ": ok, policy " in proc.stdout


# ------------------------------------------------------------------ explain


def test_explain_json_routed(event_file: Any, capsys: pytest.CaptureFixture[str]) -> None:
    result = explain_json(capsys, "--now", "2025-01-01T12:00:00+00:00", event_file(SIGNUP))
    assert set(result) == {"outcome", "event", "policyVersion", "records", "skipped", "why",
                           "warnings"}
    assert result["warnings"] == []
    assert result["outcome"] == "routed"
    assert result["policyVersion"] == load_policy(POLICY).version
    assert result["skipped"] == {}
    # each record's Kafka key sits next to its value: the user's id, never their email;
    # on ads records a keyed hash of it (routing/adsafety.py)
    keys = {r["value"]["class"]: r["key"] for r in result["records"]}
    assert keys["crm"] == keys["warehouse"] == "user-7f3a"
    assert re.fullmatch(r"[0-9a-f]{32}", keys["ads"])
    assert {r["key"] for r in result["records"] if r["value"]["class"] == "ads"} == {keys["ads"]}
    by_dest = {r["value"]["destination"]: r["value"] for r in result["records"]}
    assert set(by_dest) == {"meta", "google", "linkedin", "tiktok", "reddit", "hubspot",
                            "salesforce", "warehouse"}
    meta = by_dest["meta"]
    assert meta["name"] == "CompleteRegistration"
    assert meta["user"]["email"] == hashlib.sha256(b"jane.doe@example.com").hexdigest()
    assert "Jane.Doe" not in orjson.dumps(meta).decode()
    wh = by_dest["warehouse"]
    assert wh["name"] == "SignUp"
    assert wh["routedTo"]["meta"] == {"status": "sent", "name": "CompleteRegistration"}
    assert set(wh["routedTo"]) == set(by_dest) - {"warehouse"}
    assert wh["receivedAt"] == "2025-01-01T12:00:00.000Z"  # --now stands in for the record


def test_explain_reads_stdin(monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    data = b"  " + orjson.dumps(SIGNUP) + b"\n\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    result = explain_json(capsys, "--now", "2025-01-01T12:00:00+00:00")
    assert result["outcome"] == "routed"


def test_explain_json_dead_letter(event_file: Any, capsys: pytest.CaptureFixture[str]) -> None:
    broken = {**SIGNUP, "eventId": "evt cli 1"}
    result = explain_json(capsys, event_file(broken), code=1)
    assert result == {
        "outcome": "dead_letter",
        "reason": "contract.eventId.format",
        "detail": result["detail"],
    }
    assert result["detail"].startswith("eventId:")
    assert "evt cli 1" not in result["detail"]


def test_explain_shows_a_dropped_field_as_a_warning(
    event_file: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = {**SIGNUP, "email": "not-an-email@@x"}
    result = explain_json(capsys, "--now", "2025-01-01T12:00:00+00:00", event_file(broken))
    assert result["outcome"] == "routed"
    assert result["warnings"] == [{"field": "email", "code": "email.invalid"}]
    [wh] = [r["value"] for r in result["records"] if r["value"]["class"] == "warehouse"]
    assert wh["warnings"] == result["warnings"] and "email" not in wh["user"]
    assert "not-an-email" not in orjson.dumps(result).decode()
    assert main(["explain", "--policy", POLICY, "--now", "2025-01-01T12:00:00+00:00",
                 event_file(broken)]) == 0
    assert "email: email.invalid" in capsys.readouterr().out


def test_explain_json_invalid_json(event_file: Any, capsys: pytest.CaptureFixture[str]) -> None:
    result = explain_json(capsys, event_file(b'{"event": "SignUp",'), code=1)
    assert (result["outcome"], result["reason"]) == ("dead_letter", "decode.invalid_json")


@pytest.mark.parametrize(
    ("now", "too_old"),
    [("2025-01-02T00:00:00+00:00", set()),
     ("2025-01-05T00:00:00+00:00", {"google"}),
     ("2025-01-09T00:00:00+00:00", {"google", "meta", "tiktok", "reddit"}),
     ("2025-04-15T00:00:00+00:00", {"google", "meta", "tiktok", "reddit", "linkedin"})],
)
def test_explain_now_changes_too_old(event_file: Any, capsys: pytest.CaptureFixture[str],
                                     now: str, too_old: set[str]) -> None:
    result = explain_json(capsys, "--now", now, event_file(SIGNUP))
    assert result["skipped"] == dict.fromkeys(too_old, "too_old")
    sent = {r["value"]["destination"] for r in result["records"]}
    assert not sent & too_old and {"hubspot", "salesforce", "warehouse"} <= sent


def test_explain_future_event_relative_to_now(event_file: Any,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    result = explain_json(capsys, "--now", "2024-12-31T00:00:00+00:00", event_file(SIGNUP),
                          code=1)
    assert result["reason"] == "timestamp.future"


def test_explain_table(event_file: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["explain", "--policy", POLICY, "--now", "2025-01-05T00:00:00+00:00",
                 event_file(SIGNUP)])
    assert code == 0
    out = capsys.readouterr().out
    for dest in ("meta", "google", "linkedin", "tiktok", "reddit", "hubspot", "salesforce",
                 "warehouse"):
        assert dest in out
    assert "SIGN_UP" in out and "sign_up" in out
    assert "too_old" in out  # google is skipped at that time
    assert "@" not in out


def test_explain_table_dead_letter(event_file: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--policy", POLICY, event_file({"event": "SignUp"})]) == 1
    out = capsys.readouterr().out
    assert "dead letter" in out and "contract.eventId.missing" in out


def test_explain_bad_now(event_file: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--policy", POLICY, "--now", "yesterday", event_file(SIGNUP)]) == 2
    assert "--now" in capsys.readouterr().err


def test_explain_bad_policy(tmp_path: Path, event_file: Any,
                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_POLICY)
    assert main(["explain", "--policy", str(path), "--json", event_file(SIGNUP)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert all(PROBLEM_LINE.match(line) for line in captured.err.splitlines())


# ------------------------------------------------------------------ explain reads like the worker


def explain_lines(
    capsys: pytest.CaptureFixture[str], *args: str, code: int = 0
) -> list[dict[str, Any]]:
    assert main(["explain", "--policy", POLICY, "--json", *args]) == code
    return [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_explain_answers_each_json_line(event_file: Any,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    second = {**SIGNUP, "eventId": "evt-cli-2"}
    data = orjson.dumps(SIGNUP) + b"\n\n" + orjson.dumps(second) + b"\r\n" + b"{oops\n"
    results = explain_lines(capsys, "--now", "2025-01-01T12:00:00+00:00", event_file(data),
                            code=1)
    assert [r["outcome"] for r in results] == ["routed", "routed", "dead_letter"]
    assert {r["value"]["eventId"] for r in results[1]["records"]} == {"evt-cli-2"}
    assert results[2]["reason"] == "decode.invalid_json"


def test_explain_does_not_strip_what_the_worker_would_see(
    event_file: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # The worker dead-letters a value of three spaces as invalid JSON, not as empty.
    [result] = explain_lines(capsys, event_file(b"   \n"), code=1)
    assert result["reason"] == "decode.invalid_json"


@pytest.mark.parametrize(("size", "outcome"), [(65536, "routed"), (65537, "dead_letter")])
def test_explain_size_limit_counts_the_bytes_of_the_line(
    event_file: Any, capsys: pytest.CaptureFixture[str], size: int, outcome: str
) -> None:
    body = orjson.dumps(SIGNUP)
    padded = body + b" " * (size - len(body))  # trailing spaces are part of the record
    [result] = explain_lines(capsys, "--now", "2025-01-01T12:00:00+00:00",
                             event_file(padded + b"\n"), code=0 if outcome == "routed" else 1)
    assert result["outcome"] == outcome
    if outcome == "dead_letter":
        assert result["reason"] == "size.too_large"


def test_explain_holds_at_most_the_limit_plus_one_byte_of_a_record() -> None:
    from eventyard.commands.explain import records

    class Counting(io.BytesIO):
        largest = 0

        def readline(self, size: int | None = -1) -> bytes:
            line = super().readline(size)
            Counting.largest = max(Counting.largest, len(line))
            return line

    huge = b'{"x": "' + b"a" * 1_000_000 + b'"}'
    stream = Counting(huge + b"\n" + orjson.dumps(SIGNUP) + b"\n")
    values = list(records(stream, 1000))
    assert len(values[0]) == 1001 and values[1] == orjson.dumps(SIGNUP)
    assert Counting.largest <= 1 << 16
