"""`eventyard dlq stats|show|redrive`: count, read and redrive dead letters.

Every subcommand reads the DLQ within --since/--until (default: all of it) up to the high
watermarks seen at start. `show` masks PII in the original bytes unless --show-pii.
`redrive` writes matching records back to raw (see eventyard/ops/redrive.py); --dry-run
says what the current contract and policy would do with each and writes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time

import orjson
from rich.console import Console

from eventyard.errors import ConfigError, PolicyError
from eventyard.ops.dlq import dead_letters, stats
from eventyard.ops.redrive import RedriveOptions, RedriveResult, redrive
from eventyard.ops.render import as_json, pretty
from eventyard.ops.scan import ScanReport
from eventyard.ops.views import Filter
from eventyard.ops.window import window_from
from eventyard.policy import load_policy
from eventyard.settings import Settings, settings_with

SHOWN = 50  # records listed by a redrive report (all are counted)


def _common(p: argparse.ArgumentParser, *, reasons: bool = True) -> None:
    p.add_argument("--since", help="a duration ago (30m, 24h, 7d) or a time; default: all")
    p.add_argument("--until", help="end of the window (default: now)")
    if reasons:
        p.add_argument("--reason", action="append", help="a reason code (repeatable)")
    p.add_argument("--event-id", action="append", help="an eventId (repeatable)")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds a scan may take")
    p.add_argument("--bootstrap-servers", default=None)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    _common(sub.add_parser("stats", help="counts by reason and by hour"))
    show = sub.add_parser("show", help="dead letters with their headers and original bytes")
    _common(show)
    show.add_argument("--count", type=int, help="print at most this many")
    show.add_argument("--show-pii", action="store_true", help="print the bytes unmasked")
    again = sub.add_parser("redrive", help="write matching dead letters back to raw")
    _common(again)
    again.add_argument("--dry-run", action="store_true",
                       help="predict with the current contract and policy; write nothing")
    again.add_argument("--policy", default=None,
                       help="policy for --dry-run (default: EVENTYARD_POLICY_PATH)")
    again.add_argument("--rate", type=float, default=200.0,
                       help="records per second written to raw (default 200)")
    again.add_argument("--max-redrives", type=int, default=3,
                       help="refuse records already redriven this many times (default 3)")
    again.add_argument("--group", default=None,
                       help="consumer group of the redrive's progress (default GROUP_ID-redrive)")
    again.add_argument("--resume", action="store_true",
                       help="start where the group's last run got to")


def _filter(args: argparse.Namespace) -> Filter:
    return Filter.of(reason=getattr(args, "reason", None), event_id=args.event_id)


async def _show(settings: Settings, args: argparse.Namespace) -> int:
    window = window_from(args.since, args.until, int(time.time() * 1000))
    report = ScanReport(window)
    out, shown = Console(highlight=False, soft_wrap=True), 0
    views = dead_letters(settings, window, _filter(args), report, args.timeout)
    async with contextlib.aclosing(views):
        async for v in views:
            if args.json:
                print(orjson.dumps(as_json(v, show_pii=args.show_pii)).decode())
            else:
                out.print(pretty(v, show_pii=args.show_pii))
            shown += 1
            if args.count is not None and shown >= args.count:
                break
    print(f"{shown} dead letter(s) shown; {report.describe()}", file=sys.stderr)
    return 0


def _print_redrive(result: RedriveResult, args: argparse.Namespace) -> None:
    if args.json:
        print(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2).decode())
        return
    verb = "dry run: nothing written" if result.dry_run else f"sent {result.sent} to raw"
    print(f"{len(result.planned)} dead letter(s) selected; {verb}; {result.refused} refused")
    for p in result.planned[:SHOWN]:
        print(f"  {p.partition}@{p.offset}  {p.event_id or '-':<24} {p.reason:<28} {p.outcome}")
    if len(result.planned) > SHOWN:
        print(f"  … {len(result.planned) - SHOWN} more")
    for outcome, n in result.outcomes().most_common():
        print(f"  {n:>6,}  {outcome}")
    print(result.report.describe())


def run(args: argparse.Namespace) -> int:
    try:
        settings = settings_with(bootstrap_servers=args.bootstrap_servers)
        if args.action == "stats":
            window = window_from(args.since, args.until, int(time.time() * 1000))
            result = asyncio.run(stats(settings, window, _filter(args), args.timeout))
            if args.json:
                print(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2).decode())
            else:
                print("\n".join(result.lines()))
            return 0
        if args.action == "show":
            return asyncio.run(_show(settings, args))
        return _redrive(settings, args)
    except ConfigError as exc:
        print(f"eventyard dlq: {exc}", file=sys.stderr)
        return 2
    except PolicyError as exc:
        print(exc, file=sys.stderr)
        print("eventyard dlq: the policy does not load; nothing to predict with",
              file=sys.stderr)
        return 2
    except TimeoutError as exc:
        print(f"eventyard dlq: {exc}", file=sys.stderr)
        return 1


def _redrive(settings: Settings, args: argparse.Namespace) -> int:
    if args.rate <= 0 or args.max_redrives < 1:
        raise ConfigError("--rate must be above 0 and --max-redrives at least 1")
    policy = load_policy(args.policy or settings.policy_path) if args.dry_run else None
    opts = RedriveOptions(
        filter=_filter(args),
        window=window_from(args.since, args.until, int(time.time() * 1000)),
        group=args.group or f"{settings.group_id}-redrive",
        max_redrives=args.max_redrives, rate=args.rate, dry_run=args.dry_run,
        resume=args.resume, timeout_s=args.timeout,
    )
    result = asyncio.run(redrive(settings, opts, policy))
    _print_redrive(result, args)
    return 0
