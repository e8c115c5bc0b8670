"""`eventyard` command line: one subcommand per job, each implemented in its own module.

Handlers are imported lazily so `eventyard check-policy` does not pay for faust's import.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from eventyard.errors import BrokerError, BrokerUnreachable, ConfigError

# subcommand -> (module, help). Each module exposes `add_arguments(parser)` and
# `run(args) -> int`.
COMMANDS: dict[str, tuple[str, str]] = {
    "check-policy": ("eventyard.commands.check_policy", "lint a routing policy file"),
    "explain": ("eventyard.commands.explain", "show what the router would do with events"),
    "events": ("eventyard.commands.events", "list the canonical events"),
    "test-policy": ("eventyard.commands.test_policy", "run the policy unit tests"),
    "worker": ("eventyard.commands.worker", "run a routing worker"),
    "signals": ("eventyard.commands.signals", "run a behavioural signals processor"),
    "topics": ("eventyard.commands.topics", "create the topics the worker needs"),
    "send": ("eventyard.commands.send", "write JSON-lines events to the raw topic"),
    "load": ("eventyard.commands.load", "load routed records into DuckDB or Postgres"),
    "ingest": ("eventyard.commands.ingest", "run the HTTP ingest edge"),
    "demo": ("eventyard.demo.main", "local broker, worker, traffic and a live view"),
    "broker": ("eventyard.commands.broker", "run a local Tansu broker in the foreground"),
    "tap": ("eventyard.commands.tap", "follow records on an eventyard topic, filtered"),
    "trace": ("eventyard.commands.trace", "everything the cluster knows about one eventId"),
    "dlq": ("eventyard.commands.dlq", "dead letters: stats, show, redrive"),
    "diff-policy": ("eventyard.commands.diff_policy", "what a policy change would change"),
    "top": ("eventyard.commands.top", "live view of running workers from their /metrics"),
}


Runner = Callable[[argparse.Namespace], int]

DESCRIPTION = """\
eventyard routes B2B product-analytics events through Kafka. Apps write one canonical
event per business action (SignUp, Purchase, ...) to the raw topic; workers validate and
deduplicate them and publish each destination's native event, with PII hashed for ad
platforms, to the ads, crm and warehouse topics, and anything unusable to the dead-letter
topic with a reason. The routing policy is a YAML file ops lint, test and reload live.
Connection and topic settings come from EVENTYARD_* environment variables."""


def _epilog() -> str:
    # argparse wraps long subcommand names onto their own line; a plain table reads better.
    width = max(map(len, COMMANDS)) + 2
    rows = [f"  {name:<{width}}{help_text}" for name, (_, help_text) in COMMANDS.items()]
    return "\n".join(
        ["commands:", *rows, "", "Run `eventyard COMMAND --help` for what a command takes."]
    )


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Runner]]:
    parser = argparse.ArgumentParser(
        prog="eventyard", usage="eventyard [-h] COMMAND [ARGS ...]", description=DESCRIPTION,
        epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                help=argparse.SUPPRESS)
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


def _error(message: object) -> None:
    for line in str(message).splitlines():
        print(f"error: {line}", file=sys.stderr)


def run_command(run: Runner, args: argparse.Namespace) -> int:
    """Run one command; the errors a person can act on become a line and an exit status.

    One convention for every command: messages for a person go to stderr, one line each,
    never a traceback; exit status 2 for a usage or configuration error (a bad flag, a bad
    EVENTYARD_* value, a file that cannot be read, a port in use), 1 for a failed check or
    operation (a policy with errors, a dead-lettered event, an unreachable broker)."""
    try:
        return int(run(args))
    except ConfigError as exc:
        _error(exc)
        return 2
    except (BrokerUnreachable, BrokerError) as exc:
        _error(exc)
        return 1
    except OSError as exc:
        if exc.filename is None:
            raise
        _error(f"cannot read {exc.filename}: {exc.strerror}")
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from eventyard.settings_load import misspelt

    for warning in misspelt(os.environ):
        print(warning, file=sys.stderr)
    # Import only the module of the command asked for.
    if argv and argv[0] in COMMANDS:
        module = importlib.import_module(COMMANDS[argv[0]][0])
        parser = argparse.ArgumentParser(
            prog=f"eventyard {argv[0]}", description=COMMANDS[argv[0]][1][:1].upper()
            + COMMANDS[argv[0]][1][1:] + "."
        )
        module.add_arguments(parser)
        return run_command(module.run, parser.parse_args(argv[1:]))
    parser, _ = build_parser()
    parser.parse_args(argv)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
