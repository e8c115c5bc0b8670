"""`eventyard check-policy PATH`: exit 0 and a one-line summary, or exit 1 with every
problem on stderr as FILE:LINE: PATH.TO.FIELD: message."""

from __future__ import annotations

import argparse
import sys

from eventyard.errors import PolicyError
from eventyard.policy import load_policy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="policy file, e.g. config/routing.yaml")


def run(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.path)
    except PolicyError as exc:
        print(exc, file=sys.stderr)  # one FILE:LINE: PATH: message line per problem
        print(f"{args.path}: {len(exc.problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"{args.path}: ok, {policy.summary()}")
    return 0
