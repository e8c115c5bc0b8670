"""`eventyard explain [--policy PATH] [--now RFC3339] [--json] [FILE|-]`: what the router
would do with one raw event, using the exact hot-path code."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

import orjson

from eventyard.core import process
from eventyard.errors import PolicyError
from eventyard.policy import load_policy
from eventyard.routing.outcome import DeadLetter, Routed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", default="-", help="raw event JSON (default: stdin)")
    parser.add_argument("--policy", default="config/routing.yaml")
    parser.add_argument("--now", help="evaluate at this RFC 3339 time (default: now)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")


def explain(value: bytes, policy_path: str, now_ms: int) -> dict[str, Any]:
    policy = load_policy(policy_path)
    outcome = process(value, now_ms, policy, now_ms)
    if isinstance(outcome, DeadLetter):
        return {"outcome": "dead_letter", "reason": outcome.reason, "detail": outcome.detail}
    assert isinstance(outcome, Routed)
    return {
        "outcome": "routed",
        "policyVersion": outcome.policy_version,
        "records": [orjson.loads(r.value) for r in outcome.records],
        "skipped": dict(outcome.skipped),
    }


def _table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if result["outcome"] == "dead_letter":
        console.print(f"[bold red]dead letter[/] {result['reason']}: {result['detail']}")
        return
    table = Table(title=f"routed with policy {result['policyVersion']}")
    for col in ("destination", "class", "native name", "user fields", "outcome"):
        table.add_column(col)
    for rec in result["records"]:
        table.add_row(rec["destination"], rec["class"], rec["name"],
                      ", ".join(sorted(rec["user"])), "[green]sent[/]")
    for dest, why in sorted(result["skipped"].items()):
        table.add_row(dest, "", "", "", f"[yellow]skipped: {why}[/]")
    console.print(table)


def run(args: argparse.Namespace) -> int:
    if args.file == "-":
        value = sys.stdin.buffer.read().strip()
    else:
        with open(args.file, "rb") as f:
            value = f.read().strip()
    if args.now:
        try:
            now_ms = int(datetime.fromisoformat(args.now).timestamp() * 1000)
        except ValueError:
            print(f"--now: not an RFC 3339 time: {args.now!r}", file=sys.stderr)
            return 2
    else:
        now_ms = int(datetime.now().timestamp() * 1000)
    try:
        result = explain(value, args.policy, now_ms)
    except PolicyError as exc:
        print(exc, file=sys.stderr)  # one FILE:LINE: PATH: message line per problem
        return 1
    if args.json:
        sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _table(result)
    return 0
