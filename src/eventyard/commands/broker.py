"""`eventyard broker`: run a local Tansu broker in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from eventyard.errors import BrokerError
from eventyard.local.broker import LocalBroker
from eventyard.preflight import check_port_free


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    parser.add_argument("--log", type=Path, default=None, help="broker log file")


def run(args: argparse.Namespace) -> int:
    if args.port is not None:
        check_port_free("127.0.0.1", args.port, "--port")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        with LocalBroker(port=args.port, log_path=args.log) as broker:
            print(f"bootstrap servers: {broker.bootstrap}", flush=True)
            print(f"broker log: {broker.log_path}", flush=True)
            print(f"export EVENTYARD_BOOTSTRAP_SERVERS={broker.bootstrap}", flush=True)
            while not stop.wait(0.5):
                if not broker.alive():
                    print(f"error: broker exited: {broker.log_tail()}", file=sys.stderr,
                          flush=True)
                    return 1
    except BrokerError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0
