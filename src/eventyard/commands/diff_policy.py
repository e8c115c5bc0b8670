"""`eventyard diff-policy OLD NEW`: what a policy change would change, per canonical event
and destination (names, destinations gained or lost, consent, age and PII rules).

Exit 0 when both files load (whether or not they differ), 2 when either does not, with
every problem of that file on stderr as FILE:LINE: PATH: message.
"""

from __future__ import annotations

import argparse
import sys

import orjson

from eventyard.errors import PolicyError
from eventyard.policy import CompiledPolicy, load_policy
from eventyard.policy.diff import diff_policies


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", help="the policy file now in use")
    parser.add_argument("new", help="the policy file to roll out")
    parser.add_argument("--json", action="store_true", help="one JSON object")


def _load(path: str) -> CompiledPolicy | None:
    try:
        return load_policy(path)
    except PolicyError as exc:
        print(exc, file=sys.stderr)
        print(f"{path}: {len(exc.problems)} problem(s); nothing to diff", file=sys.stderr)
        return None


def run(args: argparse.Namespace) -> int:
    old, new = _load(args.old), _load(args.new)
    if old is None or new is None:
        return 2
    diff = diff_policies(old, new)
    if args.json:
        print(orjson.dumps({
            "old": diff.old_version, "new": diff.new_version, "counts": diff.counts(),
            "rules": [{"destination": r.destination, "rule": r.rule, "old": r.old, "new": r.new}
                      for r in diff.rules],
            "events": [{"event": e.event, "destination": e.destination, "change": e.kind,
                        "old": e.old, "new": e.new} for e in diff.events],
        }, option=orjson.OPT_INDENT_2).decode())
        return 0
    print(f"policy {diff.old_version} ({args.old}) → {diff.new_version} ({args.new}): "
          f"{diff.headline()}")
    if diff.rules:
        print("rules:")
        for r in diff.rules:
            print(f"  {r.render()}")
    if diff.events:
        print("events:")
        for e in diff.events:
            print(f"  {e.render()}")
    return 0
