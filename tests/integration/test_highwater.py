"""The one "caught up" test every reader shares (kafka/highwater.py), against the broker:
it returns exactly what was produced, empty partitions included, and picks up records
produced after an earlier drain."""

from __future__ import annotations

import pytest
from aiokafka import TopicPartition

from eventyard.commands.send import send_records
from eventyard.kafka import clients as kafka
from eventyard.kafka.highwater import drain_to_highwater
from eventyard.kafka.topics import ensure_topics

from .conftest import Yard

pytestmark = pytest.mark.integration


async def test_drain_reads_every_partition_to_its_high_watermark(yard: Yard) -> None:
    s = yard.settings
    await ensure_topics(s)
    # Keyed by partition number modulo 3: a few partitions get records, others none, and
    # the drain must still end (an empty partition is caught up at high watermark 0).
    first = [(f"k{i % 3}".encode(), f"a{i}".encode()) for i in range(500)]
    await send_records(s, s.topic_dlq, first)
    consumer = kafka.plain_consumer(s, "it-highwater")
    await consumer.start()
    try:
        tps = [TopicPartition(s.topic_dlq, p) for p in range(s.partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)

        async def drain() -> list[bytes]:
            return [r.value async for _, recs in drain_to_highwater(
                consumer, tps, 30.0, what="test") for r in recs]

        got = await drain()
        assert sorted(got) == sorted(v for _, v in first)
        assert len({k for k, _ in first}) < s.partitions  # some partitions stayed empty

        later = [(b"k9", f"b{i}".encode()) for i in range(7)]
        await send_records(s, s.topic_dlq, later)
        assert sorted(await drain()) == sorted(v for _, v in later)
    finally:
        await consumer.stop()
