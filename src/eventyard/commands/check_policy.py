"""`eventyard check-policy PATH`: exit 0 and a one-line summary, or exit 1 with every
problem on stderr as FILE:LINE: PATH.TO.FIELD: message. Warnings (a disabled destination,
a protected event mapped to an ad platform) go to stderr too and do not fail the check."""

from __future__ import annotations

import argparse
import sys

from eventyard.errors import PolicyError, PolicyProblem
from eventyard.policy import load_policy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="policy file, e.g. config/routing.yaml")


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def run(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.path)
    except PolicyError as exc:
        if [p.kind for p in exc.problems] == ["unreadable_file"]:
            print(f"error: {exc}", file=sys.stderr)  # the path given is wrong: a usage error
            return 2
        print(exc, file=sys.stderr)  # one FILE:LINE: PATH: message line per problem
        summary = _count(len(exc.problems), "error")
        if exc.warnings:
            summary += ", " + _count(len(exc.warnings), "warning")
        print(f"{args.path}: {summary}", file=sys.stderr)
        return 1
    warnings: tuple[PolicyProblem, ...] = policy.warnings
    for w in warnings:
        print(w.render(), file=sys.stderr)
    suffix = f" ({_count(len(warnings), 'warning')})" if warnings else ""
    print(f"{args.path}: ok{suffix}, {policy.summary()}")
    return 0
