"""The broker stops answering: the edge answers 503 with Retry-After, never a 2xx, and
every event it did acknowledge is on the raw topic when the broker is back.

A private broker, so stopping it touches no other test. Tansu keeps its data in memory,
so "stopped" here is SIGSTOP (the process is frozen, connections hang, exactly what a
broker that cannot acknowledge looks like to a client) and then SIGCONT, after which the
raw topic is read back. Finally the broker is killed for good: 503 again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventyard.local.broker import LocalBroker

from .conftest import EXTERNAL_BOOTSTRAP, Yard
from .ingest_support import event, post, start_edge

pytestmark = pytest.mark.integration


@pytest.fixture
def private_yard(tmp_path: Path) -> Iterator[tuple[Yard, LocalBroker]]:
    if EXTERNAL_BOOTSTRAP:
        pytest.skip("stops its broker: runs on a private local broker only")
    broker = LocalBroker(log_path=tmp_path / "broker.log").start()
    prefix = f"down-{uuid.uuid4().hex[:8]}"
    env = {
        "EVENTYARD_BOOTSTRAP_SERVERS": broker.bootstrap,
        "EVENTYARD_PARTITIONS": "4",
        **{f"EVENTYARD_TOPIC_{t.upper()}": f"{prefix}.{t}"
           for t in ("raw", "keyed", "ads", "crm", "warehouse", "dlq", "dedup")},
    }
    try:
        yield Yard(broker.bootstrap, prefix, tmp_path, env), broker
    finally:
        broker.stop()


async def test_unacknowledged_means_503_and_acknowledged_means_durable(
    private_yard: tuple[Yard, LocalBroker],
) -> None:
    yard, broker = private_yard
    edge = start_edge(yard, ack_timeout_s="2", retry_after_s="7")
    try:
        acked: set[str] = set()
        answer = await post(edge, "/v1/events", [event(f"before-{i}") for i in range(20)])
        assert answer.status == 200 and answer.body["accepted"] == 20
        acked |= {f"before-{i}" for i in range(20)}

        pid = broker._proc.pid  # type: ignore[union-attr]
        os.kill(pid, signal.SIGSTOP)
        try:
            answers = await asyncio.gather(*(
                post(edge, "/v1/events", [event(f"during-{n}-{i}") for i in range(5)])
                for n in range(4)
            ))
            for a in answers:
                assert a.status == 503, a.body
                assert a.headers["Retry-After"] == "7"
                assert a.body["error"]["code"] == "broker.unavailable"
            health = await _get(edge.url + "/healthz")
            assert health == 503
        finally:
            os.kill(pid, signal.SIGCONT)

        # Back: the client retries the same events (same eventIds) and they are accepted.
        retried = await post(edge, "/v1/events",
                             [event(f"during-0-{i}") for i in range(5)])
        assert retried.status == 200
        acked |= {f"during-0-{i}" for i in range(5)}

        s = yard.settings
        async with yard.reader() as reader:
            records = await reader.wait_for(
                lambda r: acked <= {rec.key.decode() for rec in r[s.topic_raw]}, timeout=30
            )
        on_raw = {rec.key.decode() for rec in records[s.topic_raw]}
        assert acked <= on_raw  # nothing acknowledged is lost

        broker.stop()
        gone = await post(edge, "/v1/events", [event("after-stop")])
        assert gone.status == 503 and gone.headers["Retry-After"] == "7"
    finally:
        edge.kill()


async def _get(url: str) -> int:
    import aiohttp

    async with aiohttp.ClientSession() as s, s.get(url) as r:
        return r.status
