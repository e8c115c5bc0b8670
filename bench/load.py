"""`make bench-load`: `eventyard load` into DuckDB and Postgres against a bare batch-insert
floor, side by side in one run.

    python -m bench.load [--records N] [--repeats R]

Input: N real warehouse records (the pure core routing the bench's traffic with
config/routing.yaml), produced once to a topic on a local Tansu broker. Per repeat and per
database, on a fresh DuckDB file / Postgres database:
- floor: the same rows, already mapped, inserted in batches of the loader's size with the
  loader's statement (DuckDB: one unnest insert per batch; Postgres: COPY), one commit per
  batch; no Kafka, no offsets, no fencing;
- loader: the real Loader (one consumer in its own group), from its first partition
  assignment until every partition is loaded to the high watermark.
Prints rows/s (median of the repeats) and loader / floor. Reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from eventyard.commands.send import send_records
from eventyard.core import process
from eventyard.kafka.topics import ensure_topics
from eventyard.load import layout
from eventyard.load.loader import load_topics
from eventyard.load.sinks import Advance, Row, Sink, open_sink
from eventyard.local.broker import LocalBroker
from eventyard.local.postgres import LocalPostgres
from eventyard.local.traffic import generate
from eventyard.policy import load_policy
from eventyard.routing.outcome import Routed
from eventyard.settings import Settings

REPO = Path(__file__).resolve().parents[1]
BATCH = 5000


def warehouse_records(n: int) -> list[tuple[bytes, bytes]]:
    policy = load_policy(REPO / "config" / "routing.yaml")
    now = int(time.time() * 1000)
    out: list[tuple[bytes, bytes]] = []
    seq = 0
    while len(out) < n:
        for raw in generate(n, now_ms=now, seed=seq, duplicate_ratio=0.0):
            result = process(raw.value, now, policy, now)
            if isinstance(result, Routed):
                out.extend((r.key, r.value) for r in result.records if r.klass == "warehouse")
        seq += 1
    return out[:n]


def floor(sink: Sink, rows: list[Row]) -> float:
    sink.prepare([])
    start = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        chunk = rows[i:i + BATCH]
        # The sink's own write with a fence that always passes: same statement, same commit.
        advance: Advance = {("floor", i): (None, len(chunk))}
        sink.write(chunk, advance)
    return len(rows) / (time.perf_counter() - start)


async def loader(settings: Settings, target: str, n: int) -> float:
    sink = open_sink(target)
    sink.prepare([])
    run = await load_topics(settings, sink, [settings.topic_warehouse],
                            group_id=f"bench-load-{uuid.uuid4().hex[:8]}",
                            batch_records=BATCH, batch_ms=1000, exit_when_idle=True)
    done = time.monotonic()
    loaded = sink.query(f"SELECT count(*) FROM {layout.ROWS_TABLE}")[0][0]
    sink.close()
    assert loaded == n, f"loaded {loaded} of {n}"
    assert run.assigned_at is not None
    return n / (done - run.assigned_at)


def new_database(pg: LocalPostgres) -> str:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg.url, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}".encode())
    return pg.url.rsplit("/", 1)[0] + "/" + name


def target(db: str, tmp: Path, pg: LocalPostgres) -> str:
    return f"duckdb:{tmp / f'{uuid.uuid4().hex}.duckdb'}" if db == "duckdb" else new_database(pg)


async def main(n: int, repeats: int) -> None:
    print(f"preparing {n:,} warehouse records from the pure core…", flush=True)
    records = warehouse_records(n)
    rows = [layout.row_of("floor", 0, i, v) for i, (_k, v) in enumerate(records)]
    size = sum(len(v) for _k, v in records) / n
    tmp = Path(tempfile.mkdtemp(prefix="eventyard-bench-load-"))
    with LocalBroker(log_path=tmp / "tansu.log") as broker, LocalPostgres() as pg:
        settings = Settings(bootstrap_servers=broker.bootstrap, partitions=8,
                            topic_warehouse="bench-load.warehouse")
        await ensure_topics(settings)
        await send_records(settings, settings.topic_warehouse, list(records))
        results: dict[str, list[float]] = {}
        for r in range(repeats):
            for name in ("duckdb", "postgres"):
                sink = open_sink(target(name, tmp, pg))
                results.setdefault(f"{name} floor", []).append(floor(sink, rows))
                sink.close()
                results.setdefault(f"{name} loader", []).append(
                    await loader(settings, target(name, tmp, pg), n))
            print(f"repeat {r + 1}/{repeats} done", flush=True)
    print(f"\nload: {n:,} warehouse records ({size:.0f} bytes each), batches of {BATCH}, "
          f"median of {repeats}")
    print(f"{'':32}{'rows/s':>10}{'min':>10}{'max':>10}{'× floor':>9}")
    for db in ("duckdb", "postgres"):
        base = statistics.median(results[f"{db} floor"])
        for kind in ("floor", "loader"):
            runs = results[f"{db} {kind}"]
            label = (f"{db}: bare batch insert" if kind == "floor"
                     else f"{db}: eventyard load")
            print(f"{label:32}{statistics.median(runs):>10,.0f}{min(runs):>10,.0f}"
                  f"{max(runs):>10,.0f}{statistics.median(runs) / base:>9.2f}")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.records, args.repeats))


if __name__ == "__main__":
    cli()
