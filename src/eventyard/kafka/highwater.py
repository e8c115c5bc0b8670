"""Read assigned partitions up to the fetch high watermark: the one "caught up" test.

Tansu's end_offsets() is wrong by up to a batch (broker.md §3), and one empty poll proves
nothing, so "caught up" means position >= the high watermark reported by fetch responses,
for every partition. The changelog restore, the integration tests' reader, the demo and
the bench's read-back all stop on this test.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from aiokafka import TopicPartition

from eventyard.errors import WaitTimeout
from eventyard.kafka.interfaces import Reader, Record

FETCH_TIMEOUT_MS = 200
FETCH_MAX_RECORDS = 50_000


async def drain_to_highwater(
    consumer: Reader, tps: list[TopicPartition], timeout_s: float, *, what: str
) -> AsyncIterator[tuple[TopicPartition, list[Record]]]:
    """Yield (partition, records) as fetched from `tps` (assigned to `consumer`, positioned
    where reading starts) until each is caught up; TimeoutError naming `what` after
    `timeout_s`. Fetches at least once, so a reader called again picks up new records."""
    pending = set(tps)
    deadline = time.monotonic() + timeout_s
    while pending:
        batch = await consumer.getmany(
            *pending, timeout_ms=FETCH_TIMEOUT_MS, max_records=FETCH_MAX_RECORDS
        )
        for tp, records in batch.items():
            yield tp, records
        for tp in list(pending):
            high = consumer.highwater(tp)
            if high is not None and await consumer.position(tp) >= high:
                pending.discard(tp)
        if pending and time.monotonic() > deadline:
            raise WaitTimeout(f"{what} did not reach the high watermark of {sorted(pending)}")
