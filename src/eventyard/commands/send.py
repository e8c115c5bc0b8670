"""`eventyard send FILE.jsonl|-`: one raw record per non-empty line, bytes unchanged.

Lines are not validated: garbage goes to the raw topic as is, which is how tests and the
demo inject bad input. A line that is a JSON object with a string eventId is keyed by it,
as the contract asks producers to do.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Iterable, Iterator
from typing import IO

import orjson
from aiokafka.errors import KafkaConnectionError, KafkaError

from eventyard.errors import ConfigError
from eventyard.kafka import clients as kafka
from eventyard.kafka.reach import unreachable
from eventyard.settings import Settings
from eventyard.settings_load import KAFKA, PRODUCER, load_settings

# Await delivery in chunks so memory stays flat on large files while produce stays batched.
CHUNK = 10_000
TOPIC_WAIT_S = 10.0


def key_of(line: bytes) -> bytes | None:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if isinstance(obj, dict):
        event_id = obj.get("eventId")
        if isinstance(event_id, str):
            return event_id.encode()
    return None


def read_lines(stream: IO[bytes]) -> Iterator[bytes]:
    for raw in stream:
        line = raw.rstrip(b"\r\n")
        if line.strip():
            yield line


async def send_records(
    settings: Settings, topic: str, records: Iterable[tuple[bytes | None, bytes]]
) -> int:
    """Produce (key, value) pairs with acks=all; returns the count acknowledged."""
    producer = kafka.producer(settings)
    try:
        await producer.start()
    except KafkaConnectionError:
        await producer.stop()
        raise unreachable(settings) from None
    count = 0
    try:
        try:
            # No client creates topics (kafka/no_autocreate.py): say so at once, instead
            # of the producer's own 40 s metadata wait and a bare error class.
            await asyncio.wait_for(producer.partitions_for(topic), TOPIC_WAIT_S)
        except (TimeoutError, KafkaError):
            raise ConfigError(
                f"topic {topic} does not exist on {settings.bootstrap_servers}; "
                "create it with `eventyard topics create`"
            ) from None
        pending: list[asyncio.Future[object]] = []
        for key, value in records:
            pending.append(await producer.send(topic, value=value, key=key))
            if len(pending) >= CHUNK:
                await asyncio.gather(*pending)
                count += len(pending)
                pending.clear()
        await asyncio.gather(*pending)
        count += len(pending)
    finally:
        await producer.stop()
    return count


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="JSON-lines file, or - for stdin")
    parser.add_argument("--topic", default=None, help="default: EVENTYARD_TOPIC_RAW")
    parser.add_argument("--bootstrap-servers", default=None)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(KAFKA | PRODUCER | {"topic_raw"},
                             bootstrap_servers=args.bootstrap_servers)
    topic = args.topic or settings.topic_raw
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # its errors are ours to say

    def records(stream: IO[bytes]) -> Iterator[tuple[bytes | None, bytes]]:
        return ((key_of(line), line) for line in read_lines(stream))

    try:
        if args.file == "-":
            count = asyncio.run(send_records(settings, topic, records(sys.stdin.buffer)))
        else:
            with open(args.file, "rb") as stream:
                count = asyncio.run(send_records(settings, topic, records(stream)))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"sent {count} records to {topic}")
    return 0
