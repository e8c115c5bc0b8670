"""End-to-end latency of one worker at a fixed offered load, from record timestamps.

Latency of an event = CreateTime of its warehouse record − CreateTime of its raw record.
Both are stamped by aiokafka (time.time() when the record is appended to a producer
batch) on this one machine, so no clock skew. Included: the load generator's linger
(≤ producer_linger_ms), the broker, the worker's fetch of raw, admit_raw and, for a
re-keyed record, the keyed round-trip through the broker and route_keyed, up to the
send() of the warehouse record. Not included: the warehouse record's own linger and acknowledgement.
When both copies of a duplicate were sent, the earlier raw copy's time counts.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiokafka.structs import RecordMetadata

from bench import harness
from bench.workload import Workload, expect
from eventyard.kafka import clients as kafka
from eventyard.kafka.topics import ensure_topics
from eventyard.settings import Settings

TICK_S = 0.002
WARMUP_S = 2.0  # first metadata fetches and connections of a fresh worker, not steady state


@dataclass
class Latency:
    offered_eps: float
    achieved_eps: float
    events: int
    samples: int
    p50: float
    p95: float
    p99: float
    max: float
    # The same percentiles over the first and the last DRIFT_WINDOW_S seconds after
    # warm-up: on Tansu latency drifts upward as the broker stores more small batches.
    first_p50: float = 0.0
    first_p99: float = 0.0
    last_p50: float = 0.0
    last_p99: float = 0.0
    # Means after warm-up: end-to-end, and its first part, raw CreateTime → fetched by the
    # worker (eventyard_fetch_wait_seconds): the broker's share. NaN for the echo.
    mean: float = 0.0
    fetch_wait_mean: float = float("nan")


DRIFT_WINDOW_S = 4.0


async def paced_produce(
    settings: Settings, work: Workload, rate: float
) -> list[RecordMetadata]:
    """Send the records at `rate`/s on a fine clock; returns their metadata in order."""
    producer = kafka.producer(settings)
    await producer.start()
    loop = asyncio.get_running_loop()
    futures: list[asyncio.Future[RecordMetadata]] = []
    try:
        start = loop.time()
        sent = 0
        while sent < work.n:
            due = min(work.n, int((loop.time() - start) * rate) + 1)
            while sent < due:
                rec = work.records[sent]
                futures.append(await producer.send(settings.topic_raw, rec.value, key=rec.key))
                sent += 1
            await asyncio.sleep(TICK_S)
        return list(await asyncio.gather(*futures))
    finally:
        await producer.stop()


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: the value some sample really had)."""
    rank = max(1, round(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def measure(
    rate: float, duration_s: float, policy_path: str, tmp: Path, target: str = "worker"
) -> Latency:
    """`target`: "worker" (one eventyard worker) or "floor" (bench.floor's echo: each raw
    record copied to the warehouse topic by a bare aiokafka loop, the latency floor)."""
    run = _run(rate, duration_s, policy_path, tmp, target)
    lat = _latencies(run.work, run.metadata, run.warehouse, rate)
    lat.fetch_wait_mean = _fetch_wait_ms(run.fetch_wait[int(WARMUP_S):])
    return lat


@dataclass
class SecondRow:
    """One second of a paced run: latency of the events produced in it, the mean fetch
    wait the worker observed in it (NaN for the echo), CPU in cores."""

    second: int
    events: int
    p50: float
    p99: float
    mean: float
    fetch_wait_mean: float
    broker_cpu: float
    target_cpu: float


def measure_per_second(
    rate: float, duration_s: float, policy_path: str, tmp: Path, target: str = "worker"
) -> list[SecondRow]:
    """Shows whether latency is steady or drifts, where it is spent, and who works."""
    run = _run(rate, duration_s, policy_path, tmp, target)
    start_ms = min(md.timestamp for md in run.metadata)
    by_second: dict[int, list[float]] = {}
    for sent, latency_ms in _pairs(run.work, run.metadata, run.warehouse):
        by_second.setdefault((sent - start_ms) // 1000, []).append(latency_ms)
    nan = float("nan")
    return [SecondRow(sec, len(v), percentile(sorted(v), 50), percentile(sorted(v), 99),
                      sum(v) / len(v),
                      _fetch_wait_ms(run.fetch_wait[sec:sec + 1]),
                      *(run.cpu[sec] if sec < len(run.cpu) else (nan, nan)))
            for sec, v in sorted(by_second.items())]


def _fetch_wait_ms(deltas: list[tuple[float, float]]) -> float:
    """Mean of eventyard_fetch_wait_seconds over per-second (sum, count) increments."""
    total, count = (sum(d[i] for d in deltas) for i in (0, 1))
    return total / count * 1000 if count else float("nan")


@dataclass
class _Run:
    work: Workload
    metadata: list[RecordMetadata]
    warehouse: list[tuple[int, bytes]]
    cpu: list[tuple[float, float]]  # per second of pacing: (broker, target) cores
    fetch_wait: list[tuple[float, float]]  # per second: the worker's (sum s, count) added


def _run(rate: float, duration_s: float, policy_path: str, tmp: Path, target: str) -> _Run:
    work = expect(max(1, int(rate * duration_s)), policy_path, seed=11)
    with harness.broker(tmp) as b:
        space = harness.Space(b.bootstrap, tmp)
        s = space.settings
        asyncio.run(ensure_topics(s))
        sampler = CpuSampler(b.pid)
        if target == "floor":
            metadata = _run_paced_floor(space, work, rate, sampler)
        else:
            metadata = _run_paced_worker(space, work, rate, sampler)
        _, warehouse = asyncio.run(
            harness.read_back(s, [s.topic_warehouse], keep=s.topic_warehouse)
        )
    return _Run(work, metadata, warehouse, sampler.samples, sampler.fetch_wait)


class CpuSampler:
    """CPU seconds per second of the broker and of the process under test, and the
    worker's fetch-wait histogram increments, while the load is paced. A thread: the
    pacing loop owns the main one."""

    def __init__(self, broker_pid: int | None) -> None:
        self.broker_pid = broker_pid
        self.samples: list[tuple[float, float]] = []
        self.fetch_wait: list[tuple[float, float]] = []
        self._metrics: Callable[[], dict[str, float]] | None = None
        self._last_waited = (0.0, 0.0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, pid: int, metrics: Callable[[], dict[str, float]] | None = None) -> None:
        self._metrics = metrics
        self._thread = threading.Thread(target=self._sample, args=(pid,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _cpu(self, pid: int | None) -> float:
        return harness.cpu_seconds(pid) if pid else float("nan")

    def _fetch_wait(self) -> tuple[float, float]:
        if self._metrics is None:
            return (0.0, 0.0)
        try:
            m = self._metrics()
        except OSError:  # a missed scrape: its increment lands in the next second
            return self._last_waited
        self._last_waited = (m.get("eventyard_fetch_wait_seconds_sum", 0.0),
                             m.get("eventyard_fetch_wait_seconds_count", 0.0))
        return self._last_waited

    def _sample(self, pid: int) -> None:
        before = (self._cpu(self.broker_pid), self._cpu(pid))
        waited = self._fetch_wait()
        while not self._stop.wait(1.0):
            now = (self._cpu(self.broker_pid), self._cpu(pid))
            self.samples.append((now[0] - before[0], now[1] - before[1]))
            before = now
            now_waited = self._fetch_wait()
            self.fetch_wait.append((now_waited[0] - waited[0], now_waited[1] - waited[1]))
            waited = now_waited


def _paced(
    settings: Settings, work: Workload, rate: float, sampler: CpuSampler, pid: int,
    metrics: Callable[[], dict[str, float]] | None = None,
) -> list[RecordMetadata]:
    # The bench process holds every run's data; a full collection here would stall the load
    # generator while records sit in its accumulator with their CreateTime already stamped,
    # which reads as worker latency. No cyclic GC while pacing.
    gc.collect()
    gc.freeze()
    gc.disable()
    sampler.start(pid, metrics)
    try:
        return asyncio.run(paced_produce(settings, work, rate))
    finally:
        sampler.stop()
        gc.enable()
        gc.unfreeze()


def _run_paced_worker(
    space: harness.Space, work: Workload, rate: float, sampler: CpuSampler
) -> list[RecordMetadata]:
    [worker] = harness.start_workers(space, 1)
    try:
        worker.wait_assigned(timeout=60)
        metadata = _paced(space.settings, work, rate, sampler, worker.pid, worker.metrics)
        harness.wait_done([worker], work, timeout_s=120)
        worker.terminate()
    finally:
        worker.kill()
    return metadata


def _run_paced_floor(
    space: harness.Space, work: Workload, rate: float, sampler: CpuSampler
) -> list[RecordMetadata]:
    log_path = space.tmp / f"{space.prefix}-floor.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.floor", "-", str(work.n), "echo"],
            env={**os.environ, **space.env}, cwd=harness.REPO, stdout=log, stderr=log,
        )
    try:
        deadline = time.monotonic() + 60
        while b"floor: assigned" not in log_path.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"floor did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.05)
        metadata = _paced(space.settings, work, rate, sampler, proc.pid)
        if proc.wait(timeout=120) != 0:
            raise RuntimeError(f"floor exited {proc.returncode}:\n{log_path.read_text()[-3000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
    return metadata


def _latencies(
    work: Workload, metadata: list[RecordMetadata], warehouse: list[tuple[int, bytes]],
    rate: float,
) -> Latency:
    """Output CreateTime − raw CreateTime per eventId. The worker writes one record per
    eventId (the first copy's time counts); the echo floor one per copy: the k-th output of
    an id is matched with its k-th raw copy."""
    start_ms = min(md.timestamp for md in metadata)
    end_ms = max(md.timestamp for md in metadata)
    steady = [(sent, ms) for sent, ms in _pairs(work, metadata, warehouse)
              if sent >= start_ms + WARMUP_S * 1000]
    lat = sorted(ms for _, ms in steady)
    window = DRIFT_WINDOW_S * 1000
    first = sorted(ms for sent, ms in steady if sent < start_ms + WARMUP_S * 1000 + window)
    last = sorted(ms for sent, ms in steady if sent >= end_ms - window) or lat
    return Latency(
        offered_eps=rate, achieved_eps=work.n / max(0.001, (end_ms - start_ms) / 1000),
        events=work.n, samples=len(lat), p50=percentile(lat, 50), p95=percentile(lat, 95),
        p99=percentile(lat, 99), max=lat[-1], mean=sum(lat) / len(lat),
        first_p50=percentile(first or lat, 50), first_p99=percentile(first or lat, 99),
        last_p50=percentile(last, 50), last_p99=percentile(last, 99),
    )


def _pairs(
    work: Workload, metadata: list[RecordMetadata], warehouse: list[tuple[int, bytes]]
) -> list[tuple[int, float]]:
    """(raw CreateTime, latency ms) per routed copy."""
    raw_ms: dict[str, list[int]] = {}
    for rec, md in zip(work.records, metadata, strict=True):
        if rec.event_id is not None:
            raw_ms.setdefault(rec.event_id, []).append(md.timestamp)
    out_ms: dict[str, list[int]] = {}
    for ts, value in warehouse:
        try:
            event_id = orjson.loads(value)["eventId"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue  # the echo floor also copies invalid records
        if event_id in raw_ms:
            out_ms.setdefault(event_id, []).append(ts)
    pairs: list[tuple[int, float]] = []
    for event_id, outs in out_ms.items():
        for sent, ts in zip(sorted(raw_ms[event_id]), sorted(outs), strict=False):
            pairs.append((sent, float(ts - sent)))
    return pairs


def main(argv: list[str] | None = None) -> int:
    """python -m bench.latency [--rate 6800] [--seconds 15]: per-second p50/p99 of one
    worker and of the echo floor at the same offered load."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--rate", type=float, default=6800.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args(argv)
    tmp = harness.scratch_dir()
    rows = {t: measure_per_second(args.rate, args.seconds, str(harness.POLICY), tmp, t)
            for t in ("worker", "floor")}
    print(f"latency per second of the run at {args.rate:,.0f} ev/s offered, ms: p50, p99 and "
          "mean end to end, and the mean of its first part, raw CreateTime → fetched by the "
          "worker ('fetch'); CPU in cores of the broker and of the process under test")
    print(f"{'':>14}{'eventyard worker':^46}{'bare aiokafka echo':^30}")
    print(f"{'second':>6}{'events':>8}{'p50':>7}{'p99':>7}{'mean':>7}{'fetch':>7}{'broker':>9}"
          f"{'worker':>9}{'p50':>7}{'p99':>7}{'broker':>9}{'echo':>7}")
    nan = float("nan")
    floor = {row.second: row for row in rows["floor"]}
    for w in rows["worker"]:
        f = floor.get(w.second, SecondRow(w.second, 0, nan, nan, nan, nan, nan, nan))
        print(f"{w.second:>6}{w.events:>8,}{w.p50:>7.0f}{w.p99:>7.0f}{w.mean:>7.1f}"
              f"{w.fetch_wait_mean:>7.1f}"
              f"{w.broker_cpu:>9.2f}{w.target_cpu:>9.2f}"
              f"{f.p50:>7.0f}{f.p99:>7.0f}{f.broker_cpu:>9.2f}{f.target_cpu:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
