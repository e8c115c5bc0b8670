"""`eventyard signals`: run one signals processor until SIGTERM/SIGINT.

It evaluates the policy's `signals:` section over the warehouse topic in its own consumer
group (EVENTYARD_SIGNALS_GROUP_ID) and writes derived events to the raw topic, where the
workers route them like any other event. Scale it like the worker: one process per core,
up to one per warehouse partition. The policy is read at start: restart it to apply a
change to `signals:`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from eventyard.errors import PolicyError
from eventyard.policy import CompiledPolicy, load_policy
from eventyard.preflight import check_port_free
from eventyard.settings import Settings
from eventyard.settings_load import load_settings

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", type=Path, default=None, help="default: EVENTYARD_POLICY_PATH")
    parser.add_argument("--bootstrap-servers", default=None)
    parser.add_argument("--metrics-port", type=int, default=None,
                        help="default: EVENTYARD_SIGNALS_METRICS_PORT (9109)")


async def serve(settings: Settings, policy: CompiledPolicy) -> int:
    from eventyard.kafka.topics import ensure_topics
    from eventyard.signals_worker import http
    from eventyard.signals_worker.processor import SignalsProcessor
    from eventyard.telemetry import SignalsTelemetry

    telemetry = SignalsTelemetry()
    processor = SignalsProcessor(settings, telemetry, policy)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, processor.request_stop)
    runner = await http.serve(
        telemetry.registry, settings.metrics_host, settings.signals_metrics_port,
        lambda: processor.running, lambda: processor.last_progress,
    )
    log.info("signals group=%s policy=%s signals=%s source=%s bootstrap=%s",
             settings.signals_group_id, policy.version,
             ",".join(r.name for r in policy.signals), policy.signals_source,
             settings.bootstrap_servers)
    try:
        for result in await ensure_topics(settings):
            if result.created:
                log.info("created topic %s", result.topic)
        await processor.start()
        await processor.run()
        return 0
    finally:
        with contextlib.suppress(Exception):
            await processor.close()
        await runner.cleanup()


def run(args: argparse.Namespace) -> int:
    settings = load_settings(
        None,  # topics, Kafka, policy and the signals settings: nearly all of them
        policy_path=args.policy,
        bootstrap_servers=args.bootstrap_servers,
        signals_metrics_port=args.metrics_port,
    )
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        policy = load_policy(settings.policy_path)
    except PolicyError as exc:
        print(exc, file=sys.stderr)  # one FILE:LINE: PATH: message line per problem
        print(f"error: policy {settings.policy_path} does not load", file=sys.stderr)
        return 2
    if not policy.signals:
        print(f"error: {settings.policy_path} has no signals: section; nothing to evaluate",
              file=sys.stderr)
        return 2
    if not policy.signals_source:
        print(f"error: {settings.policy_path}: signals need a warehouse destination with "
              "events: all", file=sys.stderr)
        return 2
    where = ("--metrics-port" if args.metrics_port is not None
             else "EVENTYARD_SIGNALS_METRICS_PORT")
    check_port_free(settings.metrics_host, settings.signals_metrics_port, where)
    from eventyard.kafka.reach import probe

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    asyncio.run(probe(settings))  # BrokerUnreachable: one line naming the address
    logging.getLogger("aiokafka").setLevel(logging.NOTSET)
    try:
        return asyncio.run(serve(settings, policy))
    except KeyboardInterrupt:
        return 0
