"""The batch loop (worker/loop.py, checkpoint.py, rebalance.py) on the in-memory Kafka
(local/memory_kafka.py): the worker's own code, with the test deciding when deliveries
are acknowledged or fail, when the group rebalances and when the worker stops. No network.

Ordering is asserted on the double's journal; "has not happened" is asserted after the
event loop has had many turns to make it happen.
"""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from eventyard.local.memory_kafka import Delivery, MemoryKafka
from eventyard.policy import load_policy
from eventyard.policy.compiled import CompiledPolicy
from eventyard.settings import Settings
from eventyard.telemetry import Telemetry
from eventyard.worker.loop import Pipeline
from eventyard.worker.policy_holder import PolicyHolder

ROOT = Path(__file__).resolve().parents[2]
BATCH = 4
SETTINGS = Settings(
    bootstrap_servers="memory:9092", group_id="loop-test", partitions=1,
    batch_max_records=BATCH, fetch_timeout_ms=10,
)
RAW = TopicPartition(SETTINGS.topic_raw, 0)


@pytest.fixture(scope="module")
def policy() -> CompiledPolicy:
    return load_policy(ROOT / "config" / "routing.yaml")


@pytest.fixture(autouse=True)
def _unfreeze() -> Iterator[None]:
    yield
    # The loop freezes the heap after every batch (worker/gcpolicy.py): thaw it and collect
    # here, so the cost does not land in whichever test runs next.
    gc.unfreeze()
    gc.collect()


def cluster(settings: Settings = SETTINGS) -> MemoryKafka:
    return MemoryKafka({t: settings.partitions for t in settings.all_topics()},
                       group_id=settings.group_id)


def pipeline(kafka: MemoryKafka, policy: CompiledPolicy, settings: Settings = SETTINGS
             ) -> Pipeline:
    return Pipeline(settings, Telemetry(), PolicyHolder(policy), kafka)


async def started(p: Pipeline) -> asyncio.Task[None]:
    await p.start()
    return asyncio.create_task(p.run())


def produce(kafka: MemoryKafka, first: int, n: int) -> list[str]:
    """n valid SignUps keyed by their eventId (with one partition: the direct path)."""
    ids = [f"e-{i}" for i in range(first, first + n)]
    for event_id in ids:
        value = orjson.dumps({"event": "SignUp", "eventId": event_id, "userId": "u-1",
                              "email": "ada@example.com"})
        kafka.produce(SETTINGS.topic_raw, value, event_id.encode())
    return ids


def warehouse_ids(kafka: MemoryKafka) -> Counter[str]:
    return Counter(orjson.loads(r.value or b"")["eventId"]
                   for r in kafka.records(SETTINGS.topic_warehouse))


async def shipped(kafka: MemoryKafka, seen: int = 0) -> list[Delivery]:
    """Wait for a batch's deliveries after the first `seen` pending ones: a batch's
    changelog entries are the last of its records to be handed over."""
    await kafka.wait_until(
        lambda: any(d.topic == SETTINGS.topic_dedup for d in kafka.pending[seen:])
    )
    return kafka.pending[seen:]


async def turns(n: int = 200) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_batches_commit_in_order_each_after_all_its_acks(policy: CompiledPolicy) -> None:
    kafka = cluster()
    kafka.hold_deliveries()
    p = pipeline(kafka, policy)
    run = await started(p)
    produce(kafka, 0, BATCH)
    first = await shipped(kafka)
    produce(kafka, BATCH, BATCH)
    second = await shipped(kafka, len(first))

    kafka.acknowledge(second)
    await turns()
    assert kafka.commits() == [], "the second batch must not commit before the first"

    # A third batch ships, then the loop waits: at most two batches settle at a time.
    produce(kafka, 2 * BATCH, BATCH)
    third = await shipped(kafka, len(first))
    produce(kafka, 3 * BATCH, BATCH)
    await turns()
    assert kafka.pending == first + third, "no fourth batch while two are settling"

    kafka.acknowledge(first)
    await kafka.wait_until(lambda: len(kafka.commits()) == 2)
    assert kafka.commits() == [{RAW: BATCH}, {RAW: 2 * BATCH}]
    kafka.acknowledge()
    await kafka.wait_until(lambda: kafka.committed.get(RAW) == 4 * BATCH)
    assert [c[RAW] for c in kafka.commits()] == [BATCH, 2 * BATCH, 3 * BATCH, 4 * BATCH]
    journal = kafka.journal
    first_commit = journal.index(("commit", {RAW: BATCH}))
    delivered = [i for i, e in enumerate(journal) if e[0] == "delivered"]
    assert len(delivered) >= len(first) + len(second)
    assert sorted(delivered)[len(first) + len(second) - 1] < first_commit
    assert set(warehouse_ids(kafka).values()) == {1} and len(warehouse_ids(kafka)) == 4 * BATCH
    p.request_stop()
    await run
    await p.close()


async def test_a_failed_delivery_commits_nothing_and_stops_the_loop(
    policy: CompiledPolicy,
) -> None:
    kafka = cluster()
    kafka.hold_deliveries()
    p = pipeline(kafka, policy)
    run = await started(p)
    produce(kafka, 0, BATCH)
    first = await shipped(kafka)
    produce(kafka, BATCH, BATCH)
    second = await shipped(kafka, len(first))

    kafka.acknowledge(second)  # the later batch is out...
    kafka.fail(KafkaError("broker down"), first)  # ...but the earlier one failed
    with pytest.raises(KafkaError, match="broker down"):
        await asyncio.wait_for(run, 10)
    assert kafka.commits() == [] and kafka.committed == {}
    await p.close()
    assert kafka.committed == {}, "closing does not commit past the failure either"


async def test_after_a_failed_batch_a_restart_routes_it_again(policy: CompiledPolicy) -> None:
    """The failed batch's changelog entries were written, its warehouse records were not:
    a restarted worker must not take those entries for proof the events were routed."""
    kafka = cluster()
    kafka.hold_deliveries()
    first = pipeline(kafka, policy)
    run = await started(first)
    ids = produce(kafka, 0, BATCH)
    pending = await shipped(kafka)
    lost = [d for d in pending if d.topic == SETTINGS.topic_warehouse]
    assert lost, "the batch routes to the warehouse"
    kafka.fail(KafkaError("warehouse partition offline"), lost)
    kafka.acknowledge()  # the rest, the changelog entries included, are written
    assert len(kafka.records(SETTINGS.topic_dedup)) == BATCH
    with pytest.raises(KafkaError):
        await asyncio.wait_for(run, 10)
    await first.close()
    assert kafka.committed == {}
    assert warehouse_ids(kafka) == Counter()

    kafka.hold = False
    second = pipeline(kafka, policy)
    run = await started(second)
    await kafka.wait_until(lambda: kafka.committed.get(RAW) == BATCH)
    assert warehouse_ids(kafka) == Counter({i: 1 for i in ids})
    assert second.telemetry.registry.get_sample_value("eventyard_duplicates_total") == 0
    second.request_stop()
    await run
    await second.close()


async def test_a_revoke_waits_for_the_settling_batch_then_state_survives(
    policy: CompiledPolicy,
) -> None:
    kafka = cluster()
    kafka.hold_deliveries()
    p = pipeline(kafka, policy)
    run = await started(p)
    ids = produce(kafka, 0, BATCH)
    await shipped(kafka)

    joined = len(kafka.journal)  # the first assignment is behind us
    rebalance = asyncio.create_task(kafka.rebalance())
    await turns()
    assert not rebalance.done(), "the revoke waits for the batch to settle"
    assert kafka.commits() == [] and not any(e[0] == "revoked" for e in kafka.journal[joined:])

    kafka.acknowledge()
    await asyncio.wait_for(rebalance, 10)
    kinds = [e[0] for e in kafka.journal[joined:]]
    commit, revoked, assigned = (kinds.index(k) for k in ("commit", "revoked", "assigned"))
    assert commit < revoked < assigned, "committed before the revoke let go"
    assert kafka.committed[RAW] == BATCH
    assert len(p.store) == BATCH, "dedup state restored from the committed changelog"

    # The same events again, after the rebalance: duplicates, not routed twice.
    kafka.hold = False
    produce(kafka, 0, BATCH)
    await kafka.wait_until(lambda: kafka.committed.get(RAW) == 2 * BATCH)
    assert warehouse_ids(kafka) == Counter({i: 1 for i in ids})
    assert p.telemetry.registry.get_sample_value("eventyard_duplicates_total") == BATCH
    p.request_stop()
    await run
    await p.close()


async def test_shutdown_mid_batch_settles_it_then_leaves(policy: CompiledPolicy) -> None:
    kafka = cluster()
    kafka.hold_deliveries()
    p = pipeline(kafka, policy)
    run = await started(p)
    ids = produce(kafka, 0, BATCH)
    await shipped(kafka)

    fetched = p.last_progress
    p.request_stop()
    await kafka.wait_until(lambda: p.last_progress != fetched)  # came round, saw the stop
    await turns()
    assert not run.done() and not p.done.is_set(), "the loop waits for its last batch"
    assert kafka.commits() == []

    kafka.acknowledge()
    await asyncio.wait_for(run, 10)
    assert kafka.commits() == [{RAW: BATCH}]
    assert warehouse_ids(kafka) == Counter({i: 1 for i in ids})
    await p.close()
    kinds = [e[0] for e in kafka.journal]
    assert kinds.index("commit") < kinds.index("producer stopped") < kinds.index("left")
    assert kafka.members == []


async def test_exactly_once_commits_records_and_offsets_together(
    policy: CompiledPolicy,
) -> None:
    settings = SETTINGS.model_copy(update={"processing_guarantee": "exactly_once"})
    kafka = cluster(settings)
    p = pipeline(kafka, policy, settings)
    run = await started(p)
    ids = produce(kafka, 0, BATCH)
    await kafka.wait_until(lambda: kafka.committed.get(RAW) == BATCH)
    assert warehouse_ids(kafka) == Counter({i: 1 for i in ids})
    assert ("transaction committed",) in kafka.journal

    # A failed delivery inside the transaction aborts it: no records, no offsets.
    kafka.broken[settings.topic_warehouse] = KafkaError("warehouse partition offline")
    produce(kafka, BATCH, BATCH)
    with pytest.raises(KafkaError):
        await asyncio.wait_for(run, 10)
    assert ("abort",) in kafka.journal
    assert kafka.committed[RAW] == BATCH
    assert len(kafka.records(settings.topic_dedup)) == BATCH
    await p.close()
