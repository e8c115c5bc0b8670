"""Run eventyard locally: a worker as a subprocess, and a reader of topics to the high
watermark. Shared by the integration tests, the demo and the bench, so all three start and
observe workers the same way."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from eventyard.errors import WaitTimeout, WorkerDied
from eventyard.kafka import clients as kafka
from eventyard.kafka.highwater import drain_to_highwater
from eventyard.local.child import ChildProcess
from eventyard.settings import Settings

Record: TypeAlias = ConsumerRecord[bytes, bytes]


def settings_from_env(env: dict[str, str]) -> Settings:
    fields: dict[str, Any] = {k.removeprefix("EVENTYARD_").lower(): v for k, v in env.items()}
    return Settings(**fields)


@dataclass
class WorkerProcess(ChildProcess):
    name: str
    env: dict[str, str]
    log_path: Path
    metrics_port: int
    cwd: Path = Path(".")
    proc: subprocess.Popen[bytes] | None = None
    # `signals` runs the signals processor instead (its metrics port is its own setting).
    command: str = "worker"

    def start(self) -> WorkerProcess:
        port = str(self.metrics_port)
        env = {**os.environ, **self.env, "EVENTYARD_METRICS_PORT": port,
               "EVENTYARD_SIGNALS_METRICS_PORT": port}
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "eventyard.cli", self.command],
                env=env, stdout=out, stderr=subprocess.STDOUT, cwd=self.cwd,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def wait_assigned(self, timeout: float = 30.0) -> None:
        """Until the worker logs a non-empty assignment (group joined, state restored)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise WorkerDied(f"worker {self.name} exited:\n{self.log()[-3000:]}")
            if ("signals restore:" if self.command == "signals" else "dedup restore:") in (
                self.log()
            ):
                return
            time.sleep(0.1)
        raise WorkerDied(f"worker {self.name} got no assignment:\n{self.log()[-3000:]}")

    def metrics(self) -> dict[str, float]:
        """Prometheus text → {'name{labels}': value} (samples only)."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out


def metric_sum(metrics: dict[str, float], name: str) -> float:
    return sum(v for k, v in metrics.items() if k == name or k.startswith(name + "{"))


class TopicReader:
    """Reads topics from the beginning, incrementally, up to the fetch high watermark
    (kafka/highwater.py: never end_offsets(), wrong on Tansu)."""

    def __init__(
        self, settings: Settings, topics: list[str], *, read_committed: bool = False
    ) -> None:
        self.settings = settings
        self.read_committed = read_committed
        self.topics = topics
        self.records: dict[str, list[Record]] = {t: [] for t in topics}
        self._consumer: AIOKafkaConsumer | None = None
        self._tps: list[TopicPartition] = []

    async def __aenter__(self) -> TopicReader:
        c = kafka.plain_consumer(self.settings, "it-reader", read_committed=self.read_committed)
        await c.start()
        # Every test topic is created by the worker with settings.partitions partitions.
        tps = [TopicPartition(t, p) for t in self.topics for p in range(self.settings.partitions)]
        c.assign(tps)
        await c.seek_to_beginning(*tps)
        self._consumer, self._tps = c, tps
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def drain(self, timeout: float = 30.0) -> dict[str, list[Record]]:
        assert self._consumer is not None
        async for tp, recs in drain_to_highwater(self._consumer, self._tps, timeout,
                                                 what="topic reader"):
            self.records[tp.topic].extend(recs)
        return self.records

    async def wait_for(
        self, done: Callable[[dict[str, list[Record]]], bool], timeout: float = 60.0
    ) -> dict[str, list[Record]]:
        deadline = time.monotonic() + timeout
        while True:
            records = await self.drain()
            if done(records):
                return records
            if time.monotonic() > deadline:
                raise WaitTimeout("condition not met; counts: "
                                   + str({t: len(r) for t, r in records.items()}))
            await asyncio.sleep(0.3)


def headers_of(rec: Record) -> dict[str, bytes]:
    return dict(rec.headers)
