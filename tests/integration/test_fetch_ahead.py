"""The loop's fetch-ahead (worker/loop.py `let_fetcher_run`) depends on how aiokafka's
fetcher schedules its next request: after getmany() drains partitions, FETCHER_TURNS
turns of the event loop must be enough to put the next fetch request in flight, before
the batch is routed. Pinned here on a real broker, so an aiokafka upgrade that changes
the schedule fails this test rather than silently serialising fetch and routing again."""

from __future__ import annotations

import pytest

from eventyard.kafka import clients as kafka
from eventyard.kafka.topics import ensure_topics
from eventyard.worker.loop import let_fetcher_run

from .conftest import Yard

pytestmark = pytest.mark.integration


def _requests_on_the_wire(consumer: object) -> int:
    """Requests written and awaiting their response, over the client's connections."""
    conns = consumer._client._conns.values()  # type: ignore[attr-defined]
    return sum(len(conn._requests) for conn in conns)


async def test_the_next_fetch_is_in_flight_before_the_batch_is_routed(yard: Yard) -> None:
    s = yard.settings
    await ensure_topics(s)
    consumer = kafka.group_consumer(s)
    await consumer.start()
    try:
        consumer.subscribe([s.topic_raw])
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)
        fetcher = consumer._fetcher  # aiokafka internals: what this test pins
        for _ in range(3):
            await yard.send([(str(i).encode(), b'{"n": %d}' % i) for i in range(50)])
            batch: dict[object, list[object]] = {}
            while not batch:
                batch = dict(await consumer.getmany(timeout_ms=2000))
            sent = _requests_on_the_wire(consumer)
            await let_fetcher_run()
            assert fetcher._in_flight, "no fetch request started after let_fetcher_run()"
            assert _requests_on_the_wire(consumer) > sent, "the fetch request was not written"
    finally:
        await consumer.stop()
