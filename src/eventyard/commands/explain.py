"""`eventyard explain [--policy PATH] [--now RFC3339] [--json] [FILE|-]`: what the router
would do with each raw event of a JSON-lines input, using the exact hot-path code.

Each line is one record's value byte for byte, as `eventyard send` produces it: only the
line ending (LF or CRLF) is removed, nothing is stripped, and an empty line is not a
record. Like the worker, explain never holds more of a record than the size limit plus
one byte (`EVENTYARD_MAX_EVENT_BYTES`): the decode path sees exactly what decides.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

import orjson

from eventyard.core import DEFAULT_MAX_EVENT_BYTES, process
from eventyard.errors import PolicyError
from eventyard.policy import CompiledPolicy, load_policy
from eventyard.routing.outcome import DeadLetter, Routed
from eventyard.routing.skips import skip_detail
from eventyard.settings_load import load_settings

# Reading the rest of an over-long line in chunks keeps memory flat.
_SKIP_CHUNK = 1 << 16


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", default="-",
                        help="raw events, one JSON object per line (default: stdin)")
    parser.add_argument("--policy", default="config/routing.yaml")
    parser.add_argument("--now", help="evaluate at this RFC 3339 time (default: now)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")


def records(stream: IO[bytes], max_bytes: int) -> Iterator[bytes]:
    """Each non-empty line without its line ending. A line longer than `max_bytes` is
    cut at `max_bytes + 1` bytes, enough for the size check to fail as it does in the
    worker, and the rest of it is skipped unread into memory."""
    while line := stream.readline(max_bytes + 2):  # + room for CRLF
        if line.endswith(b"\n"):
            value = line[:-2] if line.endswith(b"\r\n") else line[:-1]
        else:
            value = line
            if len(line) == max_bytes + 2:  # longer than the limit: skip to the line's end
                while (rest := stream.readline(_SKIP_CHUNK)) and not rest.endswith(b"\n"):
                    pass
        if value:
            yield value[: max_bytes + 1]


def explain(value: bytes, policy_path: str, now_ms: int,
            max_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> dict[str, Any]:
    return explain_with(value, load_policy(policy_path), now_ms, max_bytes)


def explain_with(value: bytes, policy: CompiledPolicy, now_ms: int,
                 max_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> dict[str, Any]:
    outcome = process(value, now_ms, policy, now_ms, max_bytes)
    if isinstance(outcome, DeadLetter):
        return {"outcome": "dead_letter", "reason": outcome.reason, "detail": outcome.detail}
    assert isinstance(outcome, Routed)
    consent = orjson.loads(value).get("consent")  # routed: the value is a JSON object
    age_ms = now_ms - outcome.event_time_ms
    result: dict[str, Any] = {
        "outcome": "routed",
        "event": outcome.event,
        "policyVersion": outcome.policy_version,
        # each record as the worker publishes it: its Kafka key next to its value
        "records": [
            {"key": r.key.decode("utf-8", "replace"), "value": orjson.loads(r.value)}
            for r in outcome.records
        ],
        "skipped": dict(outcome.skipped),
        "why": {
            dest: skip_detail(reason, dest, outcome.event, policy, age_ms,
                              consent if isinstance(consent, dict) else None)
            for dest, reason in outcome.skipped.items()
        },
        "warnings": [w.as_json() for w in outcome.warnings],
    }
    if outcome.sent_as is not None:
        result["sentAs"] = outcome.sent_as
    # The policy's signals: which count this event, and which one it is the derived event of.
    counted = [rule.describe() for rule in policy.signals if outcome.event in rule.events]
    if counted:
        result["countedBy"] = counted
    for rule in policy.signals:
        if rule.name == outcome.event:
            result["derivedBy"] = rule.describe()
    return result


def _table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if result["outcome"] == "dead_letter":
        console.print(f"[bold red]dead letter[/] {result['reason']}: {result['detail']}")
        return
    sent_as = f" (sent as {result['sentAs']})" if "sentAs" in result else ""
    table = Table(
        title=f"{result['event']}{sent_as} routed with policy {result['policyVersion']}"
    )
    for col in ("destination", "class", "native name", "key", "user fields", "outcome"):
        table.add_column(col)
    for out in result["records"]:
        rec = out["value"]
        table.add_row(rec["destination"], rec["class"], rec["name"], out["key"],
                      ", ".join(sorted(rec["user"])), "[green]sent[/]")
    for dest, why in sorted(result["why"].items()):
        table.add_row(dest, "", "", "", "", f"[yellow]skipped: {why}[/]")
    console.print(table)
    for warning in result["warnings"]:
        console.print(f"[yellow]warning[/] {warning['field']}: {warning['code']}")
    for signal in result.get("countedBy", []):
        console.print(f"counted by signal {signal}", markup=False)
    if "derivedBy" in result:
        console.print(f"derived event of signal {result['derivedBy']}", markup=False)


def run(args: argparse.Namespace) -> int:
    if args.now:
        try:
            now_ms = int(datetime.fromisoformat(args.now).timestamp() * 1000)
        except ValueError:
            print(f"--now: not an RFC 3339 time: {args.now!r}", file=sys.stderr)
            return 2
    else:
        now_ms = int(datetime.now().timestamp() * 1000)
    try:
        policy = load_policy(args.policy)
    except PolicyError as exc:
        print(exc, file=sys.stderr)  # one FILE:LINE: PATH: message line per problem
        return 2  # the policy is configuration: fix it, then explain
    max_bytes = load_settings({"max_event_bytes"}).max_event_bytes
    if args.file == "-":
        dead = _answer_all(sys.stdin.buffer, policy, now_ms, max_bytes, as_json=args.json)
    else:
        try:
            f = open(args.file, "rb")  # noqa: SIM115 - closed below; open errors reported
        except OSError as exc:
            print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return 2
        with f:
            dead = _answer_all(f, policy, now_ms, max_bytes, as_json=args.json)
    return 1 if dead else 0  # like a failed check: some event would be dead-lettered


def _answer_all(stream: IO[bytes], policy: CompiledPolicy, now_ms: int, max_bytes: int, *,
                as_json: bool) -> int:
    """One answer per record: a JSON line each with --json, else a table each. An input
    with no record at all is answered as the empty record it would be. Returns how many
    were dead-lettered."""
    results = (explain_with(value, policy, now_ms, max_bytes)
               for value in records(stream, max_bytes))
    dead = answered = 0
    for result in results:
        _answer(result, as_json=as_json)
        answered += 1
        dead += result["outcome"] == "dead_letter"
    if not answered:
        _answer(explain_with(b"", policy, now_ms, max_bytes), as_json=as_json)
        dead = 1
    return dead


def _answer(result: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(result).decode() + "\n")
        sys.stdout.flush()
    else:
        _table(result)
