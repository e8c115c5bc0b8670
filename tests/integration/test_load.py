"""`eventyard load` on the real broker into real DuckDB and Postgres: kill -9 the loader
midway and restart it; the table holds every routed record exactly once. Two loaders in
one group share the partitions (Postgres) and still load each record once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from eventyard.errors import PostgresUnavailable
from eventyard.kafka.topics import ensure_topics
from eventyard.load import layout
from eventyard.load.sinks import open_sink
from eventyard.local.broker import free_port
from eventyard.local.postgres import LocalPostgres

from .conftest import REPO, Yard

pytestmark = pytest.mark.integration

N = 20_000


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    try:
        server = LocalPostgres().start()
    except PostgresUnavailable as exc:
        pytest.skip(f"Postgres tests skipped: {exc}")
    yield server
    server.stop()


def new_database(server: LocalPostgres) -> str:
    import psycopg

    name = f"it_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server.url, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}".encode())
    return server.url.rsplit("/", 1)[0] + "/" + name


def routed(i: int) -> tuple[bytes, bytes]:
    user = f"u-{i % 997}"
    record = {
        "schema": "eventyard.routed/1", "destination": "warehouse", "class": "warehouse",
        "name": "SignUp", "event": "SignUp", "eventId": f"e-{i}",
        "timestamp": "2026-12-01T10:00:00.000Z", "receivedAt": "2026-12-01T10:00:00.100Z",
        "source": "server", "policyVersion": "abc", "user": {"userId": user},
        "context": {"pageUrl": "https://app.example.com/"}, "value": None, "currency": None,
        "properties": {"i": i}, "routedTo": {"meta": {"status": "sent", "name": "X"}},
    }
    return user.encode(), orjson.dumps(record)


class LoaderProcess:
    def __init__(self, yard: Yard, target: str, name: str, *extra: str) -> None:
        self.port = free_port()
        self.log_path = yard.tmp / f"loader-{name}.log"
        env = {**os.environ, **yard.env, "EVENTYARD_LOAD_GROUP_ID": f"{yard.prefix}-loaders"}
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "eventyard.cli", "load", "--to", target,
                 "--batch-records", "100", "--batch-ms", "100",
                 "--metrics-port", str(self.port), *extra],
                env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
            )

    def rows(self) -> float:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
                text = r.read().decode()
        except OSError:
            return 0.0
        return sum(float(line.rpartition(" ")[2]) for line in text.splitlines()
                   if line.startswith("eventyard_load_rows_total{"))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


async def produce(yard: Yard) -> None:
    await ensure_topics(yard.settings)
    assert await yard.send_to(yard.settings.topic_warehouse, [routed(i) for i in range(N)]) == N


def wait_rows(loader: LoaderProcess, at_least: float, timeout: float = 60) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert loader.proc.poll() is None, loader.log()[-3000:]
        rows = loader.rows()
        if rows >= at_least:
            return rows
        time.sleep(0.02)
    raise AssertionError(f"loader stuck below {at_least} rows:\n{loader.log()[-3000:]}")


def assert_exactly_once(target: str) -> None:
    sink = open_sink(target)
    try:
        total, coords, ids = sink.query(
            "SELECT count(*), count(DISTINCT (kafka_partition, kafka_offset)), "
            f"count(DISTINCT event_id) FROM {layout.ROWS_TABLE}")[0]
        assert (total, coords, ids) == (N, N, N)
        props = sink.query(f"SELECT properties FROM {layout.ROWS_TABLE} WHERE event_id = 'e-7'")
        assert len(props) == 1
        value = props[0][0]
        assert (orjson.loads(value) if isinstance(value, str) else value) == {"i": 7}
        stored = sum(o for o in sink.stored_offsets().values())
        assert stored == N, "stored offsets point just past every loaded record"
    finally:
        sink.close()


@pytest.fixture(params=["duckdb", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "duckdb":
        return f"duckdb:{tmp_path / 'warehouse.duckdb'}"
    return new_database(request.getfixturevalue("postgres"))


async def test_kill_9_midway_then_restart_loads_each_record_once(
    yard: Yard, target: str
) -> None:
    await produce(yard)
    first = LoaderProcess(yard, target, "first")
    at_kill = wait_rows(first, N * 0.2)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(10)
    assert at_kill < N, "loader finished before the kill; raise N"

    second = LoaderProcess(yard, target, "second", "--exit-when-idle", "--batch-records", "2000")
    assert second.proc.wait(120) == 0, second.log()[-3000:]
    assert_exactly_once(target)
    check = subprocess.run([sys.executable, "-m", "eventyard.cli", "load", "--to", target,
                            "--check"], capture_output=True, text=True, cwd=REPO, check=False)
    assert check.returncode == 0, check.stderr
    assert f"{N} rows" in check.stdout


async def test_two_loaders_in_one_group_share_partitions_exactly_once(
    yard: Yard, postgres: LocalPostgres
) -> None:
    target = new_database(postgres)
    await produce(yard)
    a = LoaderProcess(yard, target, "a")
    b = LoaderProcess(yard, target, "b", "--batch-records", "2000")
    wait_rows(a, 1)
    a.proc.send_signal(signal.SIGKILL)  # b takes a's partitions over after the rebalance
    a.proc.wait(10)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        sink = open_sink(target)
        done = sum(sink.stored_offsets().values()) >= N
        sink.close()
        if done:
            break
        time.sleep(0.2)
    b.proc.send_signal(signal.SIGTERM)
    assert b.proc.wait(30) == 0, b.log()[-3000:]
    assert_exactly_once(target)
