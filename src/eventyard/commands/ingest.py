"""`eventyard ingest`: the HTTP ingest edge, until SIGTERM/SIGINT (docs/ingest.md)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from aiohttp import web
from pydantic import ValidationError

from eventyard.errors import ConfigError
from eventyard.errors import WriteKeySpecError as KeySpecError
from eventyard.ingest.app import build_app, runner
from eventyard.ingest.auth import KeyRing, parse_keys
from eventyard.ingest.edge import Edge
from eventyard.ingest.settings import IngestSettings
from eventyard.kafka.topics import ensure_topics
from eventyard.settings import Settings, settings_with

log = logging.getLogger("eventyard.ingest")
LISTENING = "ingest edge listening on"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="default: EVENTYARD_INGEST_HOST")
    parser.add_argument("--port", type=int, default=None, help="default: EVENTYARD_INGEST_PORT")
    parser.add_argument("--bootstrap-servers", default=None)


def _config_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]


def load(args: argparse.Namespace) -> tuple[Settings, IngestSettings, KeyRing]:
    try:
        settings = settings_with(bootstrap_servers=args.bootstrap_servers)
        ingest = IngestSettings(**{k: v for k, v in (("host", args.host), ("port", args.port))
                                   if v is not None})
    except ValidationError as exc:
        raise ConfigError(_config_error(exc)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read EVENTYARD_INGEST_KEYS_FILE: {exc.strerror}") from None
    if ingest.keys is None:
        raise ConfigError("no write keys: set EVENTYARD_INGEST_KEYS or EVENTYARD_INGEST_KEYS_FILE")
    try:
        keys = parse_keys(ingest.keys.get_secret_value())
    except KeySpecError as exc:
        raise ConfigError(f"EVENTYARD_INGEST_KEYS: {exc}") from None
    if not keys:
        raise ConfigError("EVENTYARD_INGEST_KEYS lists no key")
    return settings, ingest, KeyRing(keys)


async def serve(edge: Edge) -> None:
    await ensure_topics(edge.settings)
    app_runner = runner(build_app(edge))
    await app_runner.setup()
    site = web.TCPSite(app_runner, edge.ingest.host, edge.ingest.port)
    await site.start()
    kinds = [k.kind for k in edge.keys.keys]
    # On stdout whatever the log level: local/edge.py waits for this line, which only a
    # process that holds the port can print.
    print(f"{LISTENING} http://{edge.ingest.host}:{edge.ingest.port} "
          f"({kinds.count('server')} server, {kinds.count('browser')} browser keys) -> "
          f"{edge.settings.topic_raw}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("ingest edge stopping")
        await app_runner.cleanup()


def run(args: argparse.Namespace) -> int:
    try:
        settings, ingest, keys = load(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    edge = Edge(settings, ingest, keys)
    try:
        asyncio.run(serve(edge))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot listen on {ingest.host}:{ingest.port}: {exc.strerror}",
              file=sys.stderr)
        return 1
    except Exception as exc:  # the broker: unreachable at start, or refused
        print(f"error: cannot reach the broker at {settings.bootstrap_servers}: "
              f"{type(exc).__name__}", file=sys.stderr)
        return 1
    return 0
