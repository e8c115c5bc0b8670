"""processing_guarantee=exactly_once: outputs, dedup changelog and offsets commit in one
Kafka transaction, so a SIGKILL leaves no duplicate visible to read_committed readers.

Needs Apache Kafka (EVENTYARD_BOOTSTRAP_SERVERS): Tansu cannot run it — its
InitProducerId, abort and fencing gaps are in docs/broker.md §3–5.
"""

from __future__ import annotations

import os
import time
from collections import Counter

import orjson
import pytest

from eventyard.local.traffic import generate

from .conftest import Record, Yard

pytestmark = [
    pytest.mark.integration,
    pytest.mark.external_kafka,
    pytest.mark.skipif(
        not os.environ.get("EVENTYARD_BOOTSTRAP_SERVERS"),
        reason="needs Apache Kafka: set EVENTYARD_BOOTSTRAP_SERVERS (Tansu has no usable "
        "transactions)",
    ),
]

N = 10_000


async def test_exactly_once_survives_sigkill(yard: Yard) -> None:
    yard.env["EVENTYARD_PROCESSING_GUARANTEE"] = "exactly_once"
    yard.env["EVENTYARD_BATCH_MAX_RECORDS"] = "1000"
    s = yard.settings
    traffic = list(generate(N, now_ms=int(time.time() * 1000), seed=3))
    valid_ids = {r.event_id for r in traffic if r.event_id is not None}
    await yard.send([(r.key, r.value) for r in traffic])

    def warehouse(records: dict[str, list[Record]]) -> Counter[str]:
        return Counter(orjson.loads(r.value)["eventId"] for r in records[s.topic_warehouse])

    first = yard.worker("first")
    async with yard.reader(read_committed=True) as reader:
        await reader.wait_for(lambda r: len(warehouse(r)) >= len(valid_ids) // 3, timeout=120)
        first.kill()
        second = yard.worker("second")
        got = await reader.wait_for(lambda r: set(warehouse(r)) >= valid_ids, timeout=180)
        assert second.terminate() == 0
        got = await reader.drain()

    counts = warehouse(got)
    assert set(counts) == valid_ids
    assert all(n == 1 for n in counts.values()), "read_committed readers see each event once"
