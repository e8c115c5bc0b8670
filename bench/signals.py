"""`make bench-signals`: does one signals processor keep up with one worker's output?

One run, one broker, the bench's realistic traffic preloaded on the raw topic:
1. side by side: one worker and one `eventyard signals` start together; the worker drains
   the raw topic while the processor follows on the warehouse topic. Reported: the
   worker's rate, the processor's rate over the same stream, how far behind the processor
   was when the worker finished, and how long after it the processor caught up;
2. alone: a fresh processor (new group, empty state) drains the full warehouse topic:
   its ceiling, and its CPU per record.
Rates come from polling /metrics every 50 ms: first progress (alone: the end of its state
restore) to done.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.harness import (
    REPO,
    Space,
    _done,
    _progress,
    broker,
    cpu_seconds,
    rss_mib,
    scratch_dir,
)
from bench.workload import Workload, expect, preload
from eventyard.kafka.topics import ensure_topics
from eventyard.local.broker import free_port
from eventyard.local.harness import WorkerProcess, metric_sum

POLL_S = 0.05


@dataclass
class Progress:
    started: float | None = None  # first poll showing progress
    done: float | None = None


def _signals_records(p: WorkerProcess) -> float:
    try:
        return metric_sum(p.metrics(), "eventyard_signals_records_total")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0.0


def _signals(space: Space, env: dict[str, str], name: str) -> WorkerProcess:
    return WorkerProcess(name, env, space.tmp / f"{space.prefix}-{name}.log", free_port(),
                         cwd=REPO, command="signals").start()


def _poll(checks: dict[str, tuple[Callable[[], tuple[bool, bool]], Progress]],
          procs: list[WorkerProcess], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while any(p.done is None for _, p in checks.values()):
        for proc in procs:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited:\n{proc.log()[-3000:]}")
        now = time.monotonic()
        for probe, prog in checks.values():
            if prog.done is not None:
                continue
            moving, finished = probe()
            if moving and prog.started is None:
                prog.started = now
            if finished:
                prog.done = now
        if now > deadline:
            raise TimeoutError(f"not done in {timeout_s:.0f}s")
        time.sleep(POLL_S)


def run(events: int, tmp: Path) -> dict[str, float]:
    work: Workload = expect(events, str(REPO / "config" / "routing.yaml"))
    unique = work.counts["unique"]
    out: dict[str, float] = {"events": float(events), "unique": float(unique)}
    with broker(tmp) as b:
        space = Space(b.bootstrap, tmp)
        env = space.env
        s = space.settings
        asyncio.run(ensure_topics(s))
        asyncio.run(preload(s, work.records))
        worker = WorkerProcess(f"{space.prefix}-w", env, tmp / f"{space.prefix}-w.log",
                               free_port(), cwd=REPO).start()
        proc = _signals(space, env, "signals")
        procs = [worker, proc]
        try:
            worker.wait_assigned(120)
            proc.wait_assigned(120)
            cpu0 = cpu_seconds(proc.pid)
            w, p = Progress(), Progress()
            behind: list[float] = []

            def worker_probe() -> tuple[bool, bool]:
                progress = _progress([worker])
                finished = _done(progress, work)
                if finished:
                    behind.append(unique - _signals_records(proc))
                return progress["consumed"] > 0, finished

            def proc_probe() -> tuple[bool, bool]:
                n = _signals_records(proc)
                return n > 0, n >= unique

            _poll({"worker": (worker_probe, w), "signals": (proc_probe, p)}, procs,
                  max(120.0, events / 200))
            assert w.started and w.done and p.started and p.done
            out["worker_eps"] = unique / max(w.done - w.started, POLL_S)
            out["signals_side_by_side_rps"] = unique / max(p.done - p.started, POLL_S)
            out["signals_behind_at_worker_done"] = behind[0] if behind else 0.0
            # Both are polled every POLL_S: finishing within one poll of each other is a tie.
            out["signals_done_after_worker_s"] = max(0.0, p.done - w.done)
            out["signals_cpu_us_per_record_side_by_side"] = (
                (cpu_seconds(proc.pid) - cpu0) / unique * 1e6)
            proc.terminate()
            worker.terminate()

            # Alone: a processor with no state reads the whole warehouse topic.
            alone_env = {**env, "EVENTYARD_SIGNALS_GROUP_ID": f"{space.prefix}-signals-2",
                         "EVENTYARD_TOPIC_SIGNALS_STATE": f"{space.prefix}.signals_state_2"}
            alone = _signals(space, alone_env, "alone")
            procs.append(alone)
            alone.wait_assigned(120)
            cpu0 = cpu_seconds(alone.pid)
            a = Progress(started=time.monotonic())  # its state is restored: reading starts

            def alone_probe() -> tuple[bool, bool]:
                n = _signals_records(alone)
                return n > 0, n >= unique

            _poll({"alone": (alone_probe, a)}, [alone], max(120.0, events / 200))
            assert a.started and a.done
            out["signals_alone_rps"] = unique / max(a.done - a.started, POLL_S)
            out["signals_cpu_us_per_record_alone"] = (
                (cpu_seconds(alone.pid) - cpu0) / unique * 1e6)
            out["signals_rss_mib"] = rss_mib(alone.pid).get("vmhwm", 0.0)
            m = alone.metrics()
            out["signals_windows_held"] = metric_sum(m, "eventyard_signals_state_windows")
            out["signals_fired"] = metric_sum(m, "eventyard_signals_fired_total")
            alone.terminate()
        finally:
            for p_ in procs:
                p_.kill()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.signals", description=__doc__)
    parser.add_argument("--events", type=int, default=60_000)
    args = parser.parse_args(argv)
    r = run(args.events, scratch_dir())
    print(f"\nsignals bench: {int(r['events']):,} raw events, {int(r['unique']):,} unique "
          "(one warehouse record each), rules of config/routing.yaml")
    print(f"  side by side  worker {r['worker_eps']:,.0f} events/s; processor "
          f"{r['signals_side_by_side_rps']:,.0f} records/s on the same stream "
          f"({r['signals_side_by_side_rps'] / r['worker_eps']:.2f}x), "
          f"{r['signals_behind_at_worker_done']:,.0f} records behind when the worker "
          f"finished, done {r['signals_done_after_worker_s']:.2f} s after it; "
          f"{r['signals_cpu_us_per_record_side_by_side']:.1f} us CPU per record")
    print(f"  alone         processor {r['signals_alone_rps']:,.0f} records/s "
          f"({r['signals_alone_rps'] / r['worker_eps']:.2f}x one worker), "
          f"{r['signals_cpu_us_per_record_alone']:.1f} us CPU per record, "
          f"peak RSS {r['signals_rss_mib']:.0f} MiB, {int(r['signals_windows_held']):,} "
          f"windows held, {int(r['signals_fired']):,} signals fired")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
