"""`eventyard demo` end to end: its summary must match what the topics really hold.

The demo's own figures come from the same topics, so the test reads them back itself,
after the demo has exited, against the session broker with topics of its own.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from eventyard.local.harness import TopicReader, headers_of
from eventyard.settings import Settings

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "config" / "routing.yaml"
ROLES = ("raw", "ads", "crm", "warehouse", "dlq")


def demo_env(prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTYARD_")}
    env.update({
        "EVENTYARD_GROUP_ID": f"{prefix}-workers",
        "EVENTYARD_PARTITIONS": "4",
        **{f"EVENTYARD_TOPIC_{t.upper()}": f"{prefix}.{t}"
           for t in ("raw", "keyed", "ads", "crm", "warehouse", "dlq", "dedup", "signals_state")},
        "EVENTYARD_SIGNALS_GROUP_ID": f"{prefix}-signals",
    })
    return env


def demo_cmd(tmp_path: Path, *args: str) -> list[str]:
    policy = tmp_path / "routing.yaml"
    policy.write_bytes(POLICY.read_bytes())  # a developer editing the real one can't interfere
    return [sys.executable, "-m", "eventyard.cli", "demo", "--no-live", "--policy", str(policy),
            "--summary-json", str(tmp_path / "summary.json"), "--logs", str(tmp_path), *args]


def port_closed(address: str) -> bool:
    host, _, port = address.removeprefix("http://").split("/")[0].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=0.5).close()
    except OSError:
        return True
    return False


def pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_demo_summary_matches_topics(bootstrap: str, tmp_path: Path) -> None:
    prefix = f"it-demo-{uuid.uuid4().hex[:8]}"
    env = demo_env(prefix)
    done = subprocess.run(
        demo_cmd(tmp_path, "--events", "2000", "--bootstrap-servers", bootstrap),
        env=env, cwd=REPO, capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    summary: dict[str, Any] = json.loads((tmp_path / "summary.json").read_text())
    # The signals processor ran beside the worker: its derived events are raw records too.
    fired = sum(summary["signals_fired"].values())
    assert summary["signals_fired"]["ProductQualifiedLead"] > 0
    assert f"consumed {2000 + fired:,} = routed events" in done.stdout
    assert "signals fired" in done.stdout
    assert summary["ok"] and all(c["ok"] for c in summary["checks"]), summary["checks"]

    settings = Settings(**{k.removeprefix("EVENTYARD_").lower(): v for k, v in env.items()
                           if k.startswith("EVENTYARD_")}, bootstrap_servers=bootstrap)
    topics = {role: summary["topics"][role]["topic"] for role in ROLES}
    assert topics["raw"] == f"{prefix}.raw"
    async with TopicReader(settings, list(topics.values())) as reader:
        records = await reader.drain()
    counts = {role: len(records[topic]) for role, topic in topics.items()}

    # Per topic, the summary says what the topics hold.
    assert counts == {role: summary["topics"][role]["records"] for role in ROLES}
    assert counts["raw"] == summary["produced"] == 2000 + fired
    # consumed = routed events + dead letters + duplicates, and the worker agrees.
    assert counts["raw"] == counts["warehouse"] + counts["dlq"] + summary["duplicates"]
    metrics = summary["metrics"]
    assert metrics["consumed"] == counts["raw"]
    assert metrics["unique"] == counts["warehouse"]
    assert sum(metrics["dead_letters"].values()) == counts["dlq"]
    # The traffic's intent: every malformed record dead-lettered, every copy caught.
    assert sum(summary["generator"]["malformed"].values()) == counts["dlq"] > 0
    assert sum(summary["generator"]["duplicates"].values()) == summary["duplicates"] > 0

    per_destination = Counter(
        headers_of(r)["eventyard-destination"].decode()
        for role in ("ads", "crm", "warehouse") for r in records[topics[role]]
    )
    assert per_destination == {d: v["records"] for d, v in summary["destinations"].items()}
    pql = [r for r in records[topics["crm"]] if b'"event":"ProductQualifiedLead"' in r.value]
    assert len(pql) == 2 * summary["signals_fired"]["ProductQualifiedLead"]  # both CRMs
    # The demo ends by loading every output record into DuckDB and querying it.
    loaded = summary["warehouse_load"]
    assert loaded["by_destination"] == per_destination
    assert loaded["rows"] == counts["ads"] + counts["crm"] + counts["warehouse"]
    assert sum(loaded["by_stage"].values()) == counts["warehouse"]
    reasons = Counter(headers_of(r)["eventyard-reason"].decode() for r in records[topics["dlq"]])
    assert reasons == summary["dead_letter_reasons"]
    # Six funnel stages, all of them in a 2,000-event run.
    assert len(summary["generator"]["stages"]) == 6

    # Nothing of the demo outlives it (the broker is the session's, not the demo's).
    assert pid_gone(summary["worker_pid"])
    assert port_closed(summary["metrics_url"])


def test_demo_ctrl_c_summarises_and_leaves_nothing_running(tmp_path: Path) -> None:
    """Own broker; SIGINT to the whole process group, as a terminal's Ctrl-C does."""
    env = demo_env(f"it-demo-{uuid.uuid4().hex[:8]}")
    proc = subprocess.Popen(
        demo_cmd(tmp_path, "--forever", "--rate", "500"), env=env, cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 90
        for line in proc.stdout:  # progress lines appear once traffic flows
            if "consumed" in line and " consumed 0 " not in line:
                break
            assert time.monotonic() < deadline, "no traffic"
        os.killpg(proc.pid, signal.SIGINT)
        out = proc.stdout.read()
        assert proc.wait(60) == 0, out[-4000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["interrupted"] and summary["own_broker"]
    assert summary["ok"], summary["checks"]
    assert summary["consumed"] == summary["produced"] > 0
    assert pid_gone(summary["worker_pid"])
    assert port_closed(summary["metrics_url"])
    assert port_closed(summary["bootstrap_servers"])
    assert "Summary" in out
