"""Brokers, per-run topic namespaces, worker/floor runs and reading the results back.

Throughput is taken from record timestamps, the way broker.md §6 timed its anchors: events
in per second = N / (last − first CreateTime over every topic the process under test
writes with its own clock: dlq, ads, crm, warehouse and, when written, the dedup
changelog). Process start-up, group join and the read-back are outside that window. The
keyed topic is left out because admit_raw copies the raw record's timestamp onto it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from aiokafka import TopicPartition

from bench import floor
from bench.workload import Workload, preload
from eventyard.kafka import clients as kafka
from eventyard.kafka.highwater import drain_to_highwater
from eventyard.kafka.topics import ensure_topics
from eventyard.local.broker import LocalBroker, free_port
from eventyard.local.harness import WorkerProcess, metric_sum
from eventyard.settings import Settings

REPO = Path(__file__).resolve().parents[1]
POLICY = REPO / "config" / "routing.yaml"
PARTITIONS = 8
EXTERNAL_BOOTSTRAP = os.environ.get("EVENTYARD_BOOTSTRAP_SERVERS")
CLK_TCK = os.sysconf("SC_CLK_TCK")
POLL_S = 0.1
METRICS_EVERY_S = 0.5


# --- process probes ----------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, from /proc (no psutil on the box)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, kib = line.split()[:2]
                out[name.rstrip(":").lower()] = int(kib) / 1024
    return out


# --- brokers and namespaces --------------------------------------------------------------


@dataclass
class Broker:
    bootstrap: str
    pid: int | None  # None when the bench uses an external cluster


@contextlib.contextmanager
def broker(tmp: Path) -> Iterator[Broker]:
    """A fresh Tansu broker per run (it only grows: broker.md §1, §7.8), or the cluster
    named by EVENTYARD_BOOTSTRAP_SERVERS."""
    if EXTERNAL_BOOTSTRAP:
        yield Broker(EXTERNAL_BOOTSTRAP, None)
        return
    local = LocalBroker(log_path=tmp / f"tansu-{uuid.uuid4().hex[:6]}.log")
    with local:
        # LocalBroker exposes no pid; the bench reads the broker's CPU time from /proc.
        proc = local._proc
        yield Broker(local.bootstrap, proc.pid if proc is not None else None)


@dataclass
class Space:
    """One run's topics and consumer group: a unique prefix, so runs never see each other."""

    bootstrap: str
    tmp: Path
    prefix: str = field(default_factory=lambda: f"bench-{uuid.uuid4().hex[:10]}")

    @property
    def env(self) -> dict[str, str]:
        return {
            "EVENTYARD_BOOTSTRAP_SERVERS": self.bootstrap,
            "EVENTYARD_GROUP_ID": f"{self.prefix}-group",
            "EVENTYARD_PARTITIONS": str(PARTITIONS),
            "EVENTYARD_POLICY_PATH": str(POLICY),
            "EVENTYARD_METRICS_HOST": "127.0.0.1",
            "EVENTYARD_LOG_LEVEL": "INFO",
            **{f"EVENTYARD_TOPIC_{t.upper()}": f"{self.prefix}.{t}"
               for t in ("raw", "keyed", "ads", "crm", "warehouse", "dlq", "dedup", "duplicates",
                         "signals_state")},
            "EVENTYARD_SIGNALS_GROUP_ID": f"{self.prefix}-signals",
        }

    @property
    def settings(self) -> Settings:
        return Settings(**{k.removeprefix("EVENTYARD_").lower(): v  # type: ignore[arg-type]
                           for k, v in self.env.items()})

    def timed_topics(self, with_dedup: bool) -> list[str]:
        s = self.settings
        topics = [s.topic_dlq, s.topic_ads, s.topic_crm, s.topic_warehouse]
        return [*topics, s.topic_dedup] if with_dedup else topics


# --- reading back ------------------------------------------------------------------------


@dataclass
class TopicStats:
    count: int = 0
    first_ms: int | None = None
    last_ms: int | None = None


async def read_back(
    settings: Settings, topics: list[str], keep: str | None = None, timeout_s: float = 120.0
) -> tuple[dict[str, TopicStats], list[tuple[int, bytes]]]:
    """Count and timestamp range of every topic, read to the fetch high watermark
    (never end_offsets(): wrong on Tansu, broker.md §3); (timestamp, value) of `keep`."""
    consumer = kafka.plain_consumer(settings, "bench-reader")
    await consumer.start()
    stats = {t: TopicStats() for t in topics}
    kept: list[tuple[int, bytes]] = []
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(settings.partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        async for tp, recs in drain_to_highwater(consumer, tps, timeout_s, what="read-back"):
            st = stats[tp.topic]
            st.count += len(recs)
            lo = min(r.timestamp for r in recs)
            hi = max(r.timestamp for r in recs)
            st.first_ms = lo if st.first_ms is None else min(st.first_ms, lo)
            st.last_ms = hi if st.last_ms is None else max(st.last_ms, hi)
            if tp.topic == keep:
                kept.extend((r.timestamp, r.value or b"") for r in recs)
    finally:
        await consumer.stop()
    return stats, kept


def window_eps(stats: dict[str, TopicStats], events: int) -> tuple[float, float]:
    """(events/s, window seconds) from the first and last CreateTime over `stats`."""
    firsts = [s.first_ms for s in stats.values() if s.first_ms is not None]
    lasts = [s.last_ms for s in stats.values() if s.last_ms is not None]
    window = (max(lasts) - min(firsts)) / 1000
    return events / window, window


def check_counts(stats: dict[str, TopicStats], settings: Settings, work: Workload) -> list[str]:
    """Every expected record arrived exactly once (no replays, no loss) — else say what."""
    c = work.counts
    expected = {settings.topic_dlq: c["dead"], settings.topic_ads: c["ads"],
                settings.topic_crm: c["crm"], settings.topic_warehouse: c["warehouse"]}
    return [f"{t}: {stats[t].count} records, expected {n}"
            for t, n in expected.items() if t in stats and stats[t].count != n]


# --- runs --------------------------------------------------------------------------------


@dataclass
class RunResult:
    eps: float
    window_s: float
    extra: dict[str, object] = field(default_factory=dict)


def run_floor(work: Workload, variant: str, produce: str, tmp: Path) -> RunResult:
    with broker(tmp) as b:
        space = Space(b.bootstrap, tmp)
        s = space.settings
        asyncio.run(ensure_topics(s))
        metadata = asyncio.run(preload(s, work.records))
        plan = floor.build_plan(s, work, metadata, variant)
        plan_path = tmp / f"{space.prefix}.plan"
        with open(plan_path, "wb") as f:
            pickle.dump(plan, f, protocol=pickle.HIGHEST_PROTOCOL)
        del plan
        broker_cpu0 = cpu_seconds(b.pid) if b.pid else 0.0
        done = subprocess.run(
            [sys.executable, "-m", "bench.floor", str(plan_path), str(work.n), produce],
            env={**os.environ, **space.env}, cwd=REPO, capture_output=True, timeout=600,
        )
        plan_path.unlink()
        if done.returncode != 0:
            raise RuntimeError(f"floor exited {done.returncode}:\n{done.stderr.decode()[-3000:]}")
        broker_cpu = (cpu_seconds(b.pid) - broker_cpu0) if b.pid else None
        own = orjson.loads(done.stdout.splitlines()[-1])
        stats, _ = asyncio.run(read_back(s, space.timed_topics(variant == "full")))
    eps, window = window_eps(stats, work.n)
    self_timed = work.n / (own["last_commit"] - own["first_fetch"])
    return RunResult(eps, window, {
        "variant": variant, "produce": produce, "records_sent": own["sent"],
        "self_timed_eps": self_timed,
        "cpu_us_per_event": own["cpu_s"] / work.n * 1e6, "maxrss_mib": own["maxrss_mib"],
        "broker_cpu_s": broker_cpu, "count_errors": check_counts(stats, s, work),
    })


def _progress(workers: list[WorkerProcess]) -> dict[str, float]:
    total = {"consumed": 0.0, "unique": 0.0, "duplicates": 0.0, "dead": 0.0}
    for w in workers:
        try:
            m = w.metrics()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            continue  # web server not up yet
        total["consumed"] += metric_sum(m, "eventyard_events_consumed_total")
        total["unique"] += metric_sum(m, "eventyard_events_unique_total")
        total["duplicates"] += metric_sum(m, "eventyard_duplicates_total")
        total["dead"] += metric_sum(m, "eventyard_dead_letters_total")
    return total


def _done(p: dict[str, float], work: Workload) -> bool:
    c = work.counts
    # Dead letters beyond those written for the raw topic are written by route_keyed (or
    # on the direct path): they complete a valid event too.
    routed = p["unique"] + p["duplicates"] + max(0.0, p["dead"] - c["invalid"])
    return p["consumed"] >= work.n and routed >= c["valid"]


def _rebalanced(log: str) -> bool:
    """More than the initial assignment happened (a member joined late or left)."""
    # The pipeline's own lines ("] assigned <tps>", "] revoked <tps>"), not aiokafka's.
    events = re.findall(r"\] (assigned|revoked) (.+)$", log, flags=re.MULTILINE)
    moves = [(kind, what) for kind, what in events if what.strip() != "nothing"]
    return len(moves) > 1


def start_workers(space: Space, count: int) -> list[WorkerProcess]:
    return [
        WorkerProcess(f"{space.prefix}-w{i}", space.env,
                      space.tmp / f"{space.prefix}-w{i}.log", free_port(), cwd=REPO).start()
        for i in range(count)
    ]


def wait_done(
    workers: list[WorkerProcess], work: Workload, timeout_s: float
) -> dict[int, float]:
    """Poll /metrics until every raw record went through both hops; CPU of each worker
    is sampled when its group assignment is restored (start-up excluded)."""
    deadline = time.monotonic() + timeout_s
    cpu_start: dict[int, float] = {}
    next_metrics = 0.0
    while True:
        for w in workers:
            if not w.alive():
                raise RuntimeError(f"worker {w.name} exited:\n{w.log()[-3000:]}")
            if w.pid not in cpu_start and "dedup restore:" in w.log():
                cpu_start[w.pid] = cpu_seconds(w.pid)
        if time.monotonic() >= next_metrics:
            next_metrics = time.monotonic() + METRICS_EVERY_S
            if _done(_progress(workers), work):
                return cpu_start
        if time.monotonic() > deadline:
            raise TimeoutError(f"workers not done in {timeout_s:.0f}s: {_progress(workers)}")
        time.sleep(POLL_S)


def run_workers(work: Workload, count: int, tmp: Path) -> RunResult:
    with broker(tmp) as b:
        space = Space(b.bootstrap, tmp)
        s = space.settings
        # Created up front with the worker's partition count: producing to a missing topic
        # would auto-create it with the broker default (4 on Tansu).
        asyncio.run(ensure_topics(s))
        asyncio.run(preload(s, work.records))
        broker_cpu0 = cpu_seconds(b.pid) if b.pid else 0.0
        workers = start_workers(space, count)
        try:
            cpu_start = wait_done(workers, work, timeout_s=max(120.0, work.n / 500))
            cpu = sum(cpu_seconds(w.pid) - cpu_start.get(w.pid, 0.0) for w in workers)
            broker_cpu = (cpu_seconds(b.pid) - broker_cpu0) if b.pid else None
            rss = [rss_mib(w.pid) for w in workers]
            for w in workers:
                w.terminate()
            logs = [w.log() for w in workers]
        finally:
            for w in workers:
                w.kill()
        stats, _ = asyncio.run(read_back(s, space.timed_topics(True)))
    eps, window = window_eps(stats, work.n)
    return RunResult(eps, window, {
        "workers": count, "cpu_us_per_event": cpu / work.n * 1e6, "rss_mib": rss,
        "dedup_ids_held": work.counts["unique"], "broker_cpu_s": broker_cpu,
        "rebalanced": any(_rebalanced(log) for log in logs),
        "count_errors": check_counts(stats, s, work),
    })


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="eventyard-bench-"))
