"""`eventyard trace EVENT_ID`: where one event went. Reads raw, the DLQ, the output topics
and the duplicates topic within a time window (default: the last 24 hours) and says what
it scanned. Exit 0 when the eventId was found, 1 when not, 2 on a usage error."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import orjson

from eventyard.errors import ConfigError
from eventyard.ops.trace import render, trace_event
from eventyard.ops.window import window_from
from eventyard.settings import settings_with


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("event_id", metavar="EVENT_ID")
    parser.add_argument("--since", default="24h",
                        help="start of the window: a duration ago (30m, 24h, 7d) or a time "
                        "(2026-12-02T14:00:00Z); default 24h")
    parser.add_argument("--until", default=None, help="end of the window (default: now)")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds a scan may take (default 120)")
    parser.add_argument("--bootstrap-servers", default=None)


def run(args: argparse.Namespace) -> int:
    try:
        settings = settings_with(bootstrap_servers=args.bootstrap_servers)
        window = window_from(args.since, args.until, int(time.time() * 1000))
        trace = asyncio.run(trace_event(settings, args.event_id, window, args.timeout))
    except ConfigError as exc:
        print(f"eventyard trace: {exc}", file=sys.stderr)
        return 2
    except TimeoutError as exc:
        print(f"eventyard trace: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(orjson.dumps(trace.to_json(), option=orjson.OPT_INDENT_2).decode())
    else:
        print("\n".join(render(trace)))
    return 0 if trace.found else 1
