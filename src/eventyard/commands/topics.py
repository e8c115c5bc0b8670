"""`eventyard topics create`: create every missing topic, idempotently."""

from __future__ import annotations

import argparse
import asyncio

from eventyard.errors import ConfigError
from eventyard.kafka.topics import ensure_topics
from eventyard.settings import settings_with


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="create every missing topic (idempotent)")
    create.add_argument("--bootstrap-servers", default=None)
    create.add_argument("--partitions", type=int, default=None)


def run(args: argparse.Namespace) -> int:
    settings = settings_with(bootstrap_servers=args.bootstrap_servers, partitions=args.partitions)
    try:
        results = asyncio.run(ensure_topics(settings))
    except ConfigError as exc:
        print(f"error: {exc}")
        return 1
    for r in results:
        print(f"{r.topic}: {'created' if r.created else 'exists'}")
    return 0
