"""Integration fixtures: one broker per session, unique topics and group per test, workers
as real subprocesses, and a reader that reads topics to the fetch high watermark.

Against an existing Kafka set EVENTYARD_BOOTSTRAP_SERVERS; otherwise a local Tansu broker
is started for the session (eventyard.local.broker.LocalBroker).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from eventyard.commands.send import send_records
from eventyard.kafka.topics import ensure_topics
from eventyard.local.broker import LocalBroker, free_port
from eventyard.local.harness import Record, TopicReader, WorkerProcess, headers_of, metric_sum
from eventyard.settings import Settings

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "config" / "routing.yaml"
EXTERNAL_BOOTSTRAP = os.environ.get("EVENTYARD_BOOTSTRAP_SERVERS")
PARTITIONS = 4

# Re-exported for the test modules.
__all__ = ["Record", "TopicReader", "WorkerProcess", "headers_of", "metric_sum"]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if EXTERNAL_BOOTSTRAP:
        yield EXTERNAL_BOOTSTRAP
        return
    broker = LocalBroker(log_path=tmp_path_factory.mktemp("tansu") / "broker.log")
    with broker:
        yield broker.bootstrap


# --- a per-test namespace --------------------------------------------------------------


@dataclass
class Yard:
    """Unique topics and group of one test, plus the workers it started."""

    bootstrap: str
    prefix: str
    tmp: Path
    env: dict[str, str]
    workers: list[WorkerProcess] = field(default_factory=list)
    topics_created: bool = False

    @property
    def settings(self) -> Settings:
        return Settings.model_validate(
            {k.removeprefix("EVENTYARD_").lower(): v for k, v in self.env.items()}
        )

    def worker(self, name: str | None = None) -> WorkerProcess:
        name = name or f"w{len(self.workers)}"
        w = WorkerProcess(name, self.env, self.tmp / f"worker-{name}.log", free_port(), cwd=REPO)
        self.workers.append(w.start())
        return w

    async def send(self, records: list[tuple[bytes | None, bytes]]) -> int:
        # No client auto-creates topics; a test may send before its first worker starts.
        if not self.topics_created:
            await ensure_topics(self.settings)
            self.topics_created = True
        return await send_records(self.settings, self.settings.topic_raw, records)

    async def send_to(self, topic: str, records: list[tuple[bytes | None, bytes]]) -> int:
        return await send_records(self.settings, topic, records)

    def signals(self, name: str | None = None) -> WorkerProcess:
        """An `eventyard signals` processor in its own group (EVENTYARD_SIGNALS_GROUP_ID)."""
        name = name or f"s{len(self.workers)}"
        p = WorkerProcess(name, self.env, self.tmp / f"signals-{name}.log", free_port(),
                          cwd=REPO, command="signals")
        self.workers.append(p.start())
        return p

    def reader(self, *, read_committed: bool = False) -> TopicReader:
        s = self.settings
        topics = [s.topic_ads, s.topic_crm, s.topic_warehouse, s.topic_dlq,
                  s.topic_keyed, s.topic_dedup, s.topic_raw, s.topic_duplicates,
                  s.topic_signals_state]
        return TopicReader(s, topics, read_committed=read_committed)


@pytest.fixture
def yard(bootstrap: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Yard]:
    prefix = f"it-{uuid.uuid4().hex[:10]}"
    policy = tmp_path / "routing.yaml"
    shutil.copy(POLICY, policy)
    env = {
        "EVENTYARD_BOOTSTRAP_SERVERS": bootstrap,
        "EVENTYARD_GROUP_ID": f"{prefix}-workers",
        "EVENTYARD_SIGNALS_GROUP_ID": f"{prefix}-signals",
        "EVENTYARD_PARTITIONS": str(PARTITIONS),
        "EVENTYARD_POLICY_PATH": str(policy),
        "EVENTYARD_METRICS_HOST": "127.0.0.1",
        "EVENTYARD_LOG_LEVEL": "INFO",
        **{f"EVENTYARD_TOPIC_{t.upper()}": f"{prefix}.{t}"
           for t in ("raw", "keyed", "ads", "crm", "warehouse", "dlq", "dedup", "duplicates",
                     "signals_state")},
    }
    y = Yard(bootstrap, prefix, tmp_path, env)
    yield y
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for w in y.workers:
        w.kill()
        if failed:
            print(f"\n===== worker {w.name} log ({w.log_path}) =====\n{w.log()[-6000:]}")
