"""`eventyard topics create`: create every missing topic, idempotently."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from aiokafka.errors import KafkaConnectionError

from eventyard.errors import ConfigError
from eventyard.kafka.reach import unreachable
from eventyard.kafka.topics import ensure_topics
from eventyard.settings_load import KAFKA, TOPICS, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="create every missing topic (idempotent)")
    create.add_argument("--bootstrap-servers", default=None)
    create.add_argument("--partitions", type=int, default=None)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(KAFKA | TOPICS, bootstrap_servers=args.bootstrap_servers,
                             partitions=args.partitions)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # its errors are ours to say
    try:
        results = asyncio.run(ensure_topics(settings))
    except KafkaConnectionError:
        raise unreachable(settings) from None
    except ConfigError as exc:  # the broker refused a topic: the operation failed
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for r in results:
        print(f"{r.topic}: {'created' if r.created else 'exists'}")
    return 0
