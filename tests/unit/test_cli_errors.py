"""Errors a person can act on: one line on stderr naming the variable, flag, address, port
or file, no traceback; exit 2 for usage and configuration errors, 1 for a failed
operation. Each command validates only the settings it uses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventyard.cli import main

REPO = Path(__file__).resolve().parents[2]
POLICY = str(REPO / "config" / "routing.yaml")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("EVENTYARD_"):
            monkeypatch.delenv(name)


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (bound once to pick it, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_a_bad_value_names_the_variable_and_the_rule(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EVENTYARD_PARTITIONS", "eight")
    assert main(["topics", "create"]) == 2
    assert one_line(capsys) == "error: EVENTYARD_PARTITIONS: must be a whole number (got 'eight')"
    monkeypatch.setenv("EVENTYARD_PARTITIONS", "0")
    assert main(["topics", "create"]) == 2
    assert one_line(capsys) == "error: EVENTYARD_PARTITIONS: must be at least 1 (got '0')"


def test_a_bad_flag_value_names_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topics", "create", "--partitions", "0"]) == 2
    assert one_line(capsys) == "error: --partitions: must be at least 1 (got 0)"


def test_a_choice_names_what_it_may_be(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EVENTYARD_SECURITY_PROTOCOL", "TLS")
    assert main(["send", "-"]) == 2
    line = one_line(capsys)
    assert line.startswith("error: EVENTYARD_SECURITY_PROTOCOL: must be 'PLAINTEXT', 'SSL'")


def test_a_secret_is_never_echoed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("EVENTYARD_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("EVENTYARD_SASL_PASSWORD", "hunter2")
    assert main(["send", "-"]) == 2
    line = one_line(capsys)
    assert "EVENTYARD_SASL_MECHANISM" in line and "hunter2" not in line


def test_a_missing_secret_file_names_the_variable_and_the_path(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "password"
    monkeypatch.setenv("EVENTYARD_SASL_PASSWORD_FILE", str(missing))
    assert main(["send", "-"]) == 2
    assert one_line(capsys) == (
        f"error: EVENTYARD_SASL_PASSWORD_FILE: cannot read {missing}: No such file or directory"
    )
    monkeypatch.delenv("EVENTYARD_SASL_PASSWORD_FILE")
    monkeypatch.setenv("EVENTYARD_HMAC_KEY_FILE", str(missing))
    assert main(["check-policy", POLICY]) == 2
    assert one_line(capsys) == (
        f"error: EVENTYARD_HMAC_KEY_FILE: cannot read {missing}: No such file or directory"
    )


def test_a_command_validates_only_the_settings_it_uses(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # explain reads only the size limit; the worker's metrics port is none of its business
    monkeypatch.setenv("EVENTYARD_METRICS_PORT", "http")
    monkeypatch.setenv("EVENTYARD_PARTITIONS", "eight")
    event = tmp_path / "e.jsonl"
    event.write_text('{"event":"PageView","eventId":"e-1","userId":"u-1"}\n')
    assert main(["explain", "--policy", POLICY, str(event)]) == 0
    assert capsys.readouterr().err == ""
    # but a bad value of a setting it does read still stops it
    monkeypatch.setenv("EVENTYARD_MAX_EVENT_BYTES", "lots")
    assert main(["explain", "--policy", POLICY, str(event)]) == 2
    assert one_line(capsys).startswith("error: EVENTYARD_MAX_EVENT_BYTES: must be a whole")


def test_a_misspelt_variable_is_named_with_the_one_it_resembles(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EVENTYARD_BOOTSTRAP_SERVER", "kafka:9092")
    monkeypatch.setenv("EVENTYARD_SOMETHING_ELSE_ENTIRELY", "x")  # not close to anything
    assert main(["check-policy", POLICY]) == 0
    assert one_line(capsys) == (
        "warning: EVENTYARD_BOOTSTRAP_SERVER is not an eventyard setting and is ignored; "
        "did you mean EVENTYARD_BOOTSTRAP_SERVERS?"
    )


def test_an_unreachable_broker_names_the_address(
    closed_port: int, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text('{"event":"PageView","eventId":"e-1","userId":"u-1"}\n')
    address = f"127.0.0.1:{closed_port}"
    for argv in (["send", str(events)], ["topics", "create"], ["tap", "dlq"],
                 ["trace", "e-1"], ["dlq", "stats"], ["dlq", "redrive", "--dry-run",
                                                      "--policy", POLICY]):
        assert main([*argv, "--bootstrap-servers", address]) == 1
        line = one_line(capsys)
        assert line.startswith(f"error: cannot reach a Kafka broker at {address} ")
        assert "EVENTYARD_BOOTSTRAP_SERVERS" in line


def test_the_worker_names_a_taken_metrics_port(
    taken_port: int, closed_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["worker", "--policy", POLICY, "--metrics-port", str(taken_port),
                 "--bootstrap-servers", f"127.0.0.1:{closed_port}"])
    assert code == 2
    line = one_line(capsys)
    assert line.startswith(f"error: port {taken_port} on 0.0.0.0 (--metrics-port) is not free")


def test_the_worker_names_an_unreachable_broker(
    closed_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    code = main(["worker", "--policy", POLICY, "--metrics-port", str(free),
                 "--bootstrap-servers", f"127.0.0.1:{closed_port}"])
    assert code == 1
    address = f"127.0.0.1:{closed_port}"
    assert one_line(capsys).startswith(f"error: cannot reach a Kafka broker at {address}")


def test_the_broker_command_names_a_taken_port(
    taken_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["broker", "--port", str(taken_port)]) == 2
    assert one_line(capsys).startswith(f"error: port {taken_port} on 127.0.0.1 (--port)")


def test_missing_files_name_their_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.yaml"
    assert main(["send", str(missing)]) == 2
    assert one_line(capsys) == f"error: cannot read {missing}: No such file or directory"
    assert main(["worker", "--policy", str(missing)]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "cannot read the file" in err and "Traceback" not in err


def test_usage_errors_exit_2_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["check-policy"])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "required: path" in captured.err


def test_no_traceback_from_the_installed_command() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTYARD_")}
    env["EVENTYARD_PARTITIONS"] = "-3"
    proc = subprocess.run(
        [sys.executable, "-m", "eventyard.cli", "topics", "create"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr == "error: EVENTYARD_PARTITIONS: must be at least 1 (got '-3')\n"
    assert proc.stdout == ""


@pytest.mark.parametrize("argv", [["dlq", "stats"], ["trace", "e-1"], ["tap", "raw"]])
def test_every_kafka_command_names_a_bad_variable(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EVENTYARD_FETCH_TIMEOUT_MS", "soon")
    assert main(argv) == 2
    assert one_line(capsys).endswith(
        "EVENTYARD_FETCH_TIMEOUT_MS: must be a whole number (got 'soon')"
    )
