"""`eventyard worker`: run one routing worker until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
from pathlib import Path

from eventyard.errors import PolicyError
from eventyard.policy import load_policy
from eventyard.preflight import check_port_free
from eventyard.settings import Settings
from eventyard.settings_load import load_settings

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", type=Path, default=None, help="default: EVENTYARD_POLICY_PATH")
    parser.add_argument("--bootstrap-servers", default=None)
    parser.add_argument("--metrics-port", type=int, default=None)


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(
        None,  # the worker uses every setting
        policy_path=args.policy,
        bootstrap_servers=args.bootstrap_servers,
        metrics_port=args.metrics_port,
    )


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    try:
        policy = load_policy(settings.policy_path)
    except PolicyError as exc:
        print(exc, file=sys.stderr)  # one FILE:LINE: PATH: message line per problem
        print(f"error: policy {settings.policy_path} does not load", file=sys.stderr)
        return 2
    for warning in policy.warnings:
        print(warning.render(), file=sys.stderr)
    where = "--metrics-port" if args.metrics_port is not None else "EVENTYARD_METRICS_PORT"
    check_port_free(settings.metrics_host, settings.metrics_port, where)
    from eventyard.kafka.reach import probe

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    asyncio.run(probe(settings))  # BrokerUnreachable: one line naming the address
    logging.getLogger("aiokafka").setLevel(logging.NOTSET)

    # Imported here so `eventyard --help` and other commands do not pay for faust.
    import faust

    from eventyard.kafka.clients import KafkaClients
    from eventyard.telemetry import Telemetry
    from eventyard.worker.app import build_app, temp_datadir
    from eventyard.worker.loop import Pipeline
    from eventyard.worker.policy_holder import PolicyHolder
    from eventyard.worker.policy_watch import PolicyWatcher

    # watchfiles logs every filesystem event at INFO; the watcher logs what matters itself.
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
    telemetry = Telemetry()
    telemetry.set_policy_version(policy.version)
    holder = PolicyHolder(policy)
    # The watcher uses load_policy too: a file that passes check-policy is a file it applies.
    watcher = PolicyWatcher(settings.policy_path, holder, telemetry)
    pipeline = Pipeline(settings, telemetry, holder, KafkaClients(settings))
    datadir = temp_datadir()
    app = build_app(settings, telemetry, pipeline, watcher, datadir)
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True)
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    finally:
        shutil.rmtree(datadir, ignore_errors=True)
    return 0
