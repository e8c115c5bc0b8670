"""`eventyard` command line: one subcommand per job, each implemented in its own module.

Handlers are imported lazily so `eventyard check-policy` does not pay for faust's import.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

# subcommand -> (module, help). Each module exposes `add_arguments(parser)` and
# `run(args) -> int`.
COMMANDS: dict[str, tuple[str, str]] = {
    "check-policy": ("eventyard.commands.check_policy", "lint a routing policy file"),
    "explain": ("eventyard.commands.explain", "show what the router would do with one event"),
    "events": ("eventyard.commands.events", "list the canonical events"),
    "test-policy": ("eventyard.commands.test_policy", "run the policy unit tests"),
    "worker": ("eventyard.commands.worker", "run a routing worker"),
    "topics": ("eventyard.commands.topics", "create the topics the worker needs"),
    "send": ("eventyard.commands.send", "write JSON-lines events to the raw topic"),
    "load": ("eventyard.commands.load", "load routed records into DuckDB or Postgres"),
    "demo": ("eventyard.demo.main", "local broker, worker, traffic and a live view"),
    "broker": ("eventyard.commands.broker", "run a local Tansu broker in the foreground"),
    "tap": ("eventyard.commands.tap", "follow records on an eventyard topic, filtered"),
    "trace": ("eventyard.commands.trace", "everything the cluster knows about one eventId"),
    "dlq": ("eventyard.commands.dlq", "dead letters: stats, show, redrive"),
    "diff-policy": ("eventyard.commands.diff_policy", "what a policy change would change"),
    "top": ("eventyard.commands.top", "live view of running workers from their /metrics"),
}


Runner = Callable[[argparse.Namespace], int]


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Runner]]:
    parser = argparse.ArgumentParser(prog="eventyard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    runners: dict[str, Runner] = {}
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and exc.name.startswith("eventyard"):
                continue  # subcommand not built yet
            raise
        module.add_arguments(p)
        runners[name] = module.run
    return parser, runners


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Import only the module of the command asked for.
    if argv and argv[0] in COMMANDS:
        module = importlib.import_module(COMMANDS[argv[0]][0])
        parser = argparse.ArgumentParser(prog=f"eventyard {argv[0]}")
        module.add_arguments(parser)
        return int(module.run(parser.parse_args(argv[1:])))
    parser, _ = build_parser()
    parser.parse_args(argv)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
