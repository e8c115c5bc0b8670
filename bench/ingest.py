"""`make bench-ingest`: the HTTP ingest edge against a bare aiohttp + aiokafka floor.

    python -m bench.ingest [--seconds S] [--concurrency C]

One broker, one run, side by side: for 1 and for 100 events per request, the floor
(bench/ingest_floor.py: parse, `send()` each item, await the acks) and the edge
(`eventyard ingest`: keys, token buckets, cheap checks, metrics, group commit), each a
subprocess on the same server stack, driven by the same closed-loop client with C
connections for S seconds after a warm-up. events/s = events acknowledged (2xx) / S;
latency = request sent → answer received, which for both is after the broker's acks=all.
Floor and edge alternate twice per size; the median of the two is reported. Writes
bench/ingest_results.json. Targets are reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from eventyard.kafka.topics import ensure_topics
from eventyard.local.broker import LocalBroker, free_port
from eventyard.local.edge import EdgeProcess
from eventyard.settings import Settings

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "ingest_results.json"
KEY = "bench-server-key"
PARTITIONS = 8
WARMUP_S = 2.0
POOL = 64  # distinct request bodies per run
CLK_TCK = os.sysconf("SC_CLK_TCK")
TARGET_EPS_RATIO = 0.7
TARGET_P99_RATIO = 2.0


def make_event(i: int, run: str) -> dict[str, Any]:
    """~450 bytes, like the bench's realistic traffic: identity, PII, page, properties."""
    return {
        "event": "SignUp" if i % 5 == 0 else "PageView", "eventId": f"{run}-{i}",
        "timestamp": int(time.time() * 1000), "source": "browser",
        "userId": f"user-{i % 5000}", "anonymousId": f"anon-{i % 7919}",
        "email": f"person.{i % 5000}@example-company.com",
        "pageUrl": f"https://www.example-saas.com/pricing?ref={i % 97}",
        "referrer": "https://www.google.com/", "ip": "203.0.113.7",
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0",
        "properties": {"plan": "team", "seats": i % 50, "experiment": "pricing-v2"},
    }


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


async def drive(url: str, per_request: int, seconds: float, concurrency: int, pid: int
                ) -> dict[str, Any]:
    """Closed loop: each connection sends its next request when the last was answered.
    Bodies are made up front (eventIds repeat across the pool; neither server dedups), so
    the client spends its CPU on HTTP, not on building events."""
    run = uuid.uuid4().hex[:8]
    pool = [orjson.dumps([make_event(n * per_request + j, run) for j in range(per_request)]
                         if per_request > 1 else make_event(n, run)) for n in range(POOL)]
    counter = 0
    latencies: list[float] = []
    accepted = 0
    errors = 0
    headers = {"X-Write-Key": KEY, "Content-Type": "application/json"}
    measure_from = time.perf_counter() + WARMUP_S
    stop_at = measure_from + seconds

    async def one(session: aiohttp.ClientSession) -> None:
        nonlocal counter, accepted, errors
        while True:
            payload = pool[counter % POOL]
            counter += 1
            start = time.perf_counter()
            if start >= stop_at:
                return
            async with session.post(url, data=payload, headers=headers) as r:
                await r.read()
                ok = r.status == 200
            end = time.perf_counter()
            if start >= measure_from and end <= stop_at:
                if ok:
                    latencies.append(end - start)
                    accepted += per_request
                else:
                    errors += 1

    async def cpu() -> float:
        await asyncio.sleep(measure_from - time.perf_counter())
        before = cpu_seconds(pid)
        await asyncio.sleep(stop_at - time.perf_counter())
        return cpu_seconds(pid) - before

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        cpu_task = asyncio.create_task(cpu())
        await asyncio.gather(*(one(session) for _ in range(concurrency)))
        used = await cpu_task
    latencies.sort()

    def q(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    if not latencies:
        return {"eps": 0.0, "requests": 0, "errors": errors, "p50_ms": 0.0, "p99_ms": 0.0,
                "cpu_us_per_event": 0.0}
    return {"eps": accepted / seconds, "requests": len(latencies), "errors": errors,
            "p50_ms": q(0.50), "p99_ms": q(0.99), "cpu_us_per_event": used / accepted * 1e6}


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url}: the server exited")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url}: not ready")


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("eps", "p50_ms", "p99_ms", "cpu_us_per_event")
    return {k: statistics.median(r[k] for r in runs) for k in keys} | {"runs": runs}


async def bench(args: argparse.Namespace, bootstrap: str, work: Path) -> dict[str, Any]:
    prefix = f"bench-ingest-{uuid.uuid4().hex[:6]}"
    topics = {f"EVENTYARD_TOPIC_{t.upper()}": f"{prefix}.{t}"
              for t in ("raw", "keyed", "ads", "crm", "warehouse", "dlq", "dedup")}
    env = {"EVENTYARD_BOOTSTRAP_SERVERS": bootstrap, "EVENTYARD_PARTITIONS": str(PARTITIONS),
           **topics}
    settings = Settings.model_validate(
        {k.removeprefix("EVENTYARD_").lower(): v for k, v in env.items()})
    await ensure_topics(settings)
    edge = EdgeProcess({**env, "EVENTYARD_INGEST_KEYS": KEY,
                        "EVENTYARD_INGEST_KEY_RATE": "1000000",
                        "EVENTYARD_INGEST_KEY_BURST": "1000000",
                        "EVENTYARD_LOG_LEVEL": "WARNING"},
                       work / "edge.log", free_port(), cwd=REPO)
    floor_port = free_port()
    floor = subprocess.Popen(
        [sys.executable, "-m", "bench.ingest_floor", bootstrap, settings.topic_raw,
         str(floor_port)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    edge.start()
    try:
        wait_http(f"http://127.0.0.1:{floor_port}/healthz", floor)
        out: dict[str, Any] = {}
        for size in (1, 100):
            runs: dict[str, list[dict[str, Any]]] = {"floor": [], "edge": []}
            for _ in range(args.repeats):
                assert edge.proc is not None
                for name, url, pid in (
                    ("floor", f"http://127.0.0.1:{floor_port}/v1/events", floor.pid),
                    ("edge", f"{edge.url}/v1/events", edge.proc.pid),
                ):
                    r = await drive(url, size, args.seconds, args.concurrency, pid)
                    runs[name].append(r)
                    print(f"  {size:>3} per request  {name:<5} {r['eps']:>9,.0f} events/s  "
                          f"p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  "
                          f"server CPU {r['cpu_us_per_event']:5.0f} µs/event  "
                          f"({r['requests']} requests, {r['errors']} errors)", flush=True)
            f, e = median_of(runs["floor"]), median_of(runs["edge"])
            out[str(size)] = {"floor": f, "edge": e,
                              "eps_ratio": e["eps"] / f["eps"] if f["eps"] else 0.0,
                              "p99_ratio": e["p99_ms"] / f["p99_ms"] if f["p99_ms"] else 0.0}
        return out
    finally:
        edge.kill()
        floor.kill()
        floor.wait(10)


def table(results: dict[str, Any]) -> str:
    lines = [
        "| events/request | floor events/s | edge events/s | ratio (≥ 0.7) "
        "| floor ack p50 / p99 | edge ack p50 / p99 | p99 ratio (≤ 2) "
        "| server CPU µs/event, floor / edge |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size, r in results["sizes"].items():
        f, e = r["floor"], r["edge"]
        ok_eps = "✓" if r["eps_ratio"] >= TARGET_EPS_RATIO else "✗"
        ok_p99 = "✓" if r["p99_ratio"] <= TARGET_P99_RATIO else "✗"
        lines.append(
            f"| {size} | {f['eps']:,.0f} | {e['eps']:,.0f} | {r['eps_ratio']:.2f}× {ok_eps} "
            f"| {f['p50_ms']:.1f} / {f['p99_ms']:.1f} ms "
            f"| {e['p50_ms']:.1f} / {e['p99_ms']:.1f} ms "
            f"| {r['p99_ratio']:.2f}× {ok_p99} "
            f"| {f['cpu_us_per_event']:.0f} / {e['cpu_us_per_event']:.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per run")
    parser.add_argument("--concurrency", type=int, default=16, help="client connections")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each per size")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="eventyard-bench-ingest-"))
    external = os.environ.get("EVENTYARD_BOOTSTRAP_SERVERS")
    print(f"ingest bench: {args.concurrency} connections, {args.seconds:g} s per run after "
          f"{WARMUP_S:g} s warm-up, {args.repeats} runs each", flush=True)
    if external:
        sizes = asyncio.run(bench(args, external, work))
    else:
        with LocalBroker(log_path=work / "broker.log") as broker:
            sizes = asyncio.run(bench(args, broker.bootstrap, work))
    results = {"concurrency": args.concurrency, "seconds": args.seconds,
               "repeats": args.repeats, "broker": "external" if external else "Tansu",
               "sizes": sizes}
    RESULTS.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    print(table(results))
    print(f"written: {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
