"""`eventyard tap [TOPIC…]`: follow records on eventyard topics, filtered, as rich lines or
JSON lines. Live from the end by default; or from the beginning, an offset or a time.
PII is masked on raw, keyed, dlq, crm and warehouse records unless --show-pii."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time

from rich.console import Console

from eventyard.errors import ConfigError
from eventyard.kafka import clients as kafka
from eventyard.ops.render import json_line, pretty
from eventyard.ops.roles import resolve
from eventyard.ops.scan import (
    ScanReport,
    Start,
    parse_start,
    position_at,
    read,
    start_client,
    topic_partitions,
)
from eventyard.ops.views import Filter, view_of
from eventyard.ops.window import Window, parse_when
from eventyard.policy.schema import duration_ms
from eventyard.settings import Settings, settings_with

DEFAULT_ROLES = ("ads", "crm", "warehouse", "dlq")


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    f = parser.add_argument_group("filters (repeat a flag for alternatives)")
    f.add_argument("--destination", action="append", help="e.g. meta")
    f.add_argument("--class", dest="klass", action="append", choices=("ads", "crm", "warehouse"))
    f.add_argument("--event", action="append", help="canonical event, e.g. SignUp")
    f.add_argument("--event-id", action="append", help="an eventId")
    f.add_argument("--reason", action="append",
                   help="a dead-letter reason code, or a skip reason in routedTo")


def filter_from(args: argparse.Namespace) -> Filter:
    return Filter.of(destination=args.destination, klass=getattr(args, "klass", None),
                     event=args.event, event_id=args.event_id, reason=args.reason)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("topics", nargs="*", metavar="TOPIC",
                        help="roles (raw keyed ads crm warehouse dlq dedup duplicates) or "
                        f"topic names; default: {' '.join(DEFAULT_ROLES)}")
    parser.add_argument("--from", dest="start", default="end",
                        help="end (live, default), beginning, an offset (every partition), "
                        "or a time: 10m, 2h, 2026-12-02T14:00:00Z")
    parser.add_argument("--partition", type=int, action="append", help="only these partitions")
    parser.add_argument("--count", type=int, help="stop after this many matching records")
    parser.add_argument("--duration", help="stop after this long, e.g. 30s, 5m")
    parser.add_argument("--to-end", action="store_true",
                        help="stop at the high watermark seen at start instead of following")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--show-pii", action="store_true",
                        help="print PII unmasked on raw, dlq, crm and warehouse records")
    add_filter_arguments(parser)
    parser.add_argument("--bootstrap-servers", default=None)


async def tap(settings: Settings, args: argparse.Namespace, out: Console) -> int:
    roles = dict(resolve(settings, t)[::-1] for t in (args.topics or DEFAULT_ROLES))
    now_ms = int(time.time() * 1000)
    start = parse_start(args.start)
    window = Window()
    if start is None:
        window = Window(parse_when(args.start, now_ms, flag="--from"))
        start = Start("since")
    stop_after = duration_ms(args.duration) / 1000 if args.duration else None
    filt = filter_from(args)
    consumer = kafka.plain_consumer(settings, "eventyard-tap")
    await start_client(consumer, settings)
    shown = 0
    report = ScanReport(window)
    try:
        tps = await topic_partitions(consumer, roles, args.partition)
        live, tail = await position_at(consumer, tps, start, window, report,
                                       follow=not args.to_end)
        deadline = time.monotonic() + stop_after if stop_after is not None else None
        records = read(consumer, live, report, bounded=args.to_end, tail=tail)
        while True:
            timeout = None if deadline is None else deadline - time.monotonic()
            if timeout is not None and timeout <= 0:
                break
            try:
                rec = await asyncio.wait_for(anext(records), timeout)
            except (StopAsyncIteration, TimeoutError):
                break
            v = view_of(roles[rec.topic], rec)
            if not filt.matches(v):
                continue
            if args.json:
                print(json_line(v, show_pii=args.show_pii), flush=True)
            else:
                out.print(pretty(v, show_pii=args.show_pii), highlight=False)
            shown += 1
            if args.count is not None and shown >= args.count:
                break
        with contextlib.suppress(Exception):
            await records.aclose()
    finally:
        await consumer.stop()
    print(f"tap: {shown} matching record(s); {report.read} read", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        settings = settings_with(bootstrap_servers=args.bootstrap_servers)
        return asyncio.run(tap(settings, args, Console(highlight=False, soft_wrap=True)))
    except ConfigError as exc:
        print(f"eventyard tap: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
