"""No eventyard client creates a topic by using it (kafka/no_autocreate.py): after a broker
loss a subscription or a restore would otherwise bring a topic back with the broker's
default partition count."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from aiokafka.structs import TopicPartition

from eventyard.kafka import clients as kafka

from .conftest import Yard

pytestmark = pytest.mark.integration


async def test_consumers_and_producer_of_a_missing_topic_do_not_create_it(yard: Yard) -> None:
    s = yard.settings
    missing = [f"{yard.prefix}.missing-{i}" for i in range(3)]
    plain = kafka.plain_consumer(s, f"{yard.prefix}-plain")
    await plain.start()
    try:
        plain.assign([TopicPartition(missing[0], 0)])
        await plain.getmany(timeout_ms=500)
    finally:
        await plain.stop()
    group = kafka.group_consumer(s)
    await group.start()
    try:
        group.subscribe([missing[1]])
        await group.getmany(timeout_ms=1500)
    finally:
        await group.stop()
    producer = kafka.producer(s)
    await producer.start()
    try:
        with contextlib.suppress(Exception):  # times out: the topic does not exist
            await asyncio.wait_for(producer.partitions_for(missing[2]), 2)
    finally:
        await producer.stop()
    admin = kafka.admin(s)
    await admin.start()
    try:
        topics = set(await admin.list_topics())
    finally:
        await admin.close()
    assert not topics & set(missing), sorted(topics & set(missing))
