"""`eventyard load`: routed records into DuckDB (embedded default) or Postgres, exactly once."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time

from eventyard.errors import EventyardError
from eventyard.load import layout
from eventyard.load.loader import Loader, load_topics
from eventyard.load.settings import LoadSettings
from eventyard.load.sinks import Sink, open_sink
from eventyard.metrics_server import start_metrics_server
from eventyard.settings import Settings, settings_with
from eventyard.taxonomy import TAXONOMY
from eventyard.telemetry import LoadTelemetry

log = logging.getLogger("eventyard.load")

STALL_AFTER_S = 60.0
DUPLICATES_SQL = (
    f"SELECT destination, event_id, count(*) FROM {layout.ROWS_TABLE} "
    "GROUP BY destination, event_id HAVING count(*) > 1 ORDER BY 3 DESC LIMIT 10"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--to", default=None,
                        help="duckdb:PATH (default duckdb:eventyard.duckdb) or postgresql://…")
    parser.add_argument("--audit", action="store_true", default=None,
                        help="also load the ads and crm topics")
    parser.add_argument("--batch-records", type=int, default=None)
    parser.add_argument("--batch-ms", type=int, default=None)
    parser.add_argument("--group-id", default=None, help="consumer group of the loaders")
    parser.add_argument("--metrics-port", type=int, default=None, help="0: none")
    parser.add_argument("--bootstrap-servers", default=None)
    parser.add_argument("--exit-when-idle", action="store_true",
                        help="stop once every partition is loaded up to its high watermark")
    parser.add_argument("--check", action="store_true",
                        help="check the loaded table's invariant (eventId unique per "
                        "destination) and exit: 0 holds, 1 violated")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        opts = LoadSettings(**{k: v for k, v in {
            "to": args.to, "audit": args.audit, "batch_records": args.batch_records,
            "batch_ms": args.batch_ms, "group_id": args.group_id,
            "metrics_port": args.metrics_port}.items() if v is not None})
        settings = settings_with(bootstrap_servers=args.bootstrap_servers)
        sink = open_sink(opts.to)
    except (EventyardError, ValueError) as exc:
        print(f"eventyard load: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    try:
        if args.check:
            return check(sink)
        return asyncio.run(load(settings, opts, sink, exit_when_idle=args.exit_when_idle))
    finally:
        sink.close()


def check(sink: Sink) -> int:
    sink.prepare([])
    dupes = sink.query(DUPLICATES_SQL)
    total = sink.query(f"SELECT count(*) FROM {layout.ROWS_TABLE}")[0][0]
    if dupes:
        for destination, event_id, count in dupes:
            print(f"{destination}: eventId {event_id} loaded {count} times", file=sys.stderr)
        return 1
    print(f"{total} rows; every eventId appears once per destination")
    return 0


def topics_of(settings: Settings, opts: LoadSettings) -> list[str]:
    return ([settings.topic_warehouse, settings.topic_ads, settings.topic_crm] if opts.audit
            else [settings.topic_warehouse])


async def load(settings: Settings, opts: LoadSettings, sink: Sink, *,
               exit_when_idle: bool = False) -> int:
    added = await asyncio.to_thread(
        sink.prepare, [(e.name, e.stage) for e in TAXONOMY.values()])
    if added:
        log.info("load: added columns %s (layout v%d)", ", ".join(added), layout.LAYOUT_VERSION)
    telemetry = LoadTelemetry()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    current: list[Loader] = []

    def health() -> tuple[bool, str]:
        if not current:
            return False, "starting"
        idle = time.monotonic() - current[0].last_progress
        if idle > STALL_AFTER_S:
            return False, f"load loop stalled for {idle:.0f}s"
        return (True, "ok") if current[0].healthy else (False, "last batch could not be written")

    runner = None
    if opts.metrics_port:
        runner = await start_metrics_server(telemetry.registry, opts.metrics_host,
                                            opts.metrics_port, health)
    topics = topics_of(settings, opts)
    log.info("load: %s → %s (group %s)", ", ".join(topics), sink.dialect, opts.group_id)
    try:
        await load_topics(settings, sink, topics, group_id=opts.group_id,
                          batch_records=opts.batch_records, batch_ms=opts.batch_ms,
                          telemetry=telemetry, stop=stop, exit_when_idle=exit_when_idle,
                          on_start=current.append)
    finally:
        if runner is not None:
            await runner.cleanup()
    return 0
