"""The signals processor on a real broker, with a real worker routing its derived events:
a '>= 3' rule fires exactly once per window across a kill -9, an '= 0' rule fires for a
user who stopped, replaying the input emits nothing new, state survives a restart.

The rules are config/routing.yaml's: ProductQualifiedLead (FeatureUsed >= 3 within 7d per
userId) and TrialGoneQuiet (FeatureUsed/FirstAction = 0 within 7d per userId)."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest

from eventyard.kafka.partitioning import partition_for
from eventyard.local.harness import WorkerProcess, metric_sum
from eventyard.settings import Settings

from .conftest import PARTITIONS, Record, TopicReader, Yard

pytestmark = pytest.mark.integration

DAY_MS = 86_400_000
PQL, QUIET = "ProductQualifiedLead", "TrialGoneQuiet"


def iso(ms: int) -> str:
    """RFC 3339 with milliseconds, as the router writes it."""
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{ms % 1000:03d}Z")


def event(name: str, event_id: str, user: str, at_ms: int) -> tuple[bytes, bytes]:
    body = {"event": name, "eventId": event_id, "userId": user, "timestamp": iso(at_ms)}
    return event_id.encode(), orjson.dumps(body)


def derived(records: dict[str, list[Record]], topic: str, name: str) -> list[dict[str, object]]:
    out = []
    for r in records[topic]:
        body = orjson.loads(r.value)
        if body.get("event") == name:
            out.append(body)
    return out


def same_partition_user(user: str, prefix: str) -> str:
    """Another user whose warehouse records share `user`'s partition (its watermark)."""
    target = partition_for(user.encode(), PARTITIONS)
    for i in range(1000):
        other = f"{prefix}-{i}"
        if partition_for(other.encode(), PARTITIONS) == target:
            return other
    raise AssertionError("no user found on the same partition")


async def wait_caught_up(reader: TopicReader, s: Settings, timeout: float = 60.0) -> None:
    """Until the processor's state changelog says it has read every warehouse record."""
    def done(records: dict[str, list[Record]]) -> bool:
        ends: dict[int, int] = {}
        for r in records[s.topic_warehouse]:
            ends[r.partition] = max(ends.get(r.partition, 0), r.offset + 1)
        positions: dict[int, int] = {}
        for r in records[s.topic_signals_state]:
            if r.key == b"\x00position" and r.value:
                offset = orjson.loads(r.value)["offset"]
                if isinstance(offset, int):
                    positions[r.partition] = offset
        return all(positions.get(p, 0) >= end for p, end in ends.items())
    await reader.wait_for(done, timeout=timeout)


async def wait_routed(reader: TopicReader, worker: WorkerProcess, sent: int) -> None:
    """Until the worker has consumed `sent` raw records (derived events included)."""
    deadline = time.monotonic() + 60
    while metric_sum(worker.metrics(), "eventyard_events_consumed_total") < sent:
        assert time.monotonic() < deadline, "worker did not consume every raw record"
        time.sleep(0.2)
    await reader.drain()


async def test_at_least_rule_fires_once_per_window_across_kill_9(yard: Yard) -> None:
    s = yard.settings
    now = int(time.time() * 1000)
    t0 = now - 3 * DAY_MS
    user = "pql-user"
    worker = yard.worker()
    first = yard.signals("first")
    worker.wait_assigned()
    first.wait_assigned()
    async with yard.reader() as reader:
        await yard.send([event("FeatureUsed", "f-1", user, t0),
                         event("FeatureUsed", "f-2", user, t0 + 3_600_000)])
        await reader.wait_for(lambda r: len(r[s.topic_warehouse]) >= 2)
        await wait_caught_up(reader, s)
        first.kill()  # kill -9: no shutdown, no flush

        # The third use arrives while no processor runs; the restarted one must remember
        # the first two (restored from the changelog) to fire.
        await yard.send([event("FeatureUsed", "f-3", user, t0 + 2 * 3_600_000)])
        second = yard.signals("second")
        second.wait_assigned()
        restored = re.search(r"signals restore: \d+ entries read, (\d+) windows", second.log())
        assert restored is not None and int(restored.group(1)) >= 2  # both of u's signals
        got = await reader.wait_for(
            lambda r: len(derived(r, s.topic_warehouse, PQL)) >= 1, timeout=60)
        # A fourth use inside the same window fires nothing more.
        await yard.send([event("FeatureUsed", "f-4", user, t0 + 3 * 3_600_000)])
        await reader.wait_for(lambda r: len(r[s.topic_warehouse]) >= 5)
        await wait_caught_up(reader, s)
        second.kill()
        third = yard.signals("third")
        third.wait_assigned()
        await yard.send([event("PageView", "p-1", user, t0 + 4 * 3_600_000)])
        await reader.wait_for(lambda r: len(r[s.topic_warehouse]) >= 6)
        await wait_caught_up(reader, s)
        raw_signals = derived(reader.records, s.topic_raw, PQL)
        await wait_routed(reader, worker, 5 + len(raw_signals))
        got = reader.records

    fired = derived(got, s.topic_warehouse, PQL)
    assert len(fired) == 1, fired
    signal = fired[0]
    assert signal["user"] == {"userId": user}
    props = signal["properties"]
    assert isinstance(props, dict)
    assert props["rule"] == PQL and props["count"] == 3 and props["condition"] == ">= 3"
    assert signal["timestamp"] == iso(t0 + 2 * 3_600_000)  # the third use
    # Routed like any event: warehouse + both CRMs, no ad platform.
    crm = Counter(str(b["destination"]) for b in derived(got, s.topic_crm, PQL))
    assert crm == {"hubspot": 1, "salesforce": 1}
    assert derived(got, s.topic_ads, PQL) == []
    # Every copy the processor wrote to raw carries the one deterministic eventId.
    assert {b["eventId"] for b in derived(got, s.topic_raw, PQL)} == {signal["eventId"]}


async def test_silence_rule_fires_for_a_user_who_stopped(yard: Yard) -> None:
    s = yard.settings
    now = int(time.time() * 1000)
    stopped = "quiet-user"
    other = same_partition_user(stopped, "busy")
    worker = yard.worker()
    proc = yard.signals()
    worker.wait_assigned()
    proc.wait_assigned()
    async with yard.reader() as reader:
        # The stopped user used a feature 10 days ago; the active one the same day, five
        # days ago and today: their events move the partition's event time past the
        # deadline, and never leave a week without a use of their own.
        await yard.send([
            event("FeatureUsed", "q-1", stopped, now - 10 * DAY_MS),
            event("FeatureUsed", "q-2", other, now - 10 * DAY_MS + 60_000),
            event("FeatureUsed", "q-3", other, now - 5 * DAY_MS),
        ])
        await reader.wait_for(lambda r: len(r[s.topic_warehouse]) >= 3)
        await wait_caught_up(reader, s)
        assert derived(reader.records, s.topic_raw, QUIET) == []
        await yard.send([event("FeatureUsed", "q-4", other, now - 3_600_000)])
        got = await reader.wait_for(
            lambda r: len(derived(r, s.topic_warehouse, QUIET)) >= 1, timeout=60)
        await wait_caught_up(reader, s)
        await wait_routed(reader, worker, 4 + len(derived(reader.records, s.topic_raw, QUIET)))
        got = reader.records

    quiet = derived(got, s.topic_warehouse, QUIET)
    assert [q["user"] for q in quiet] == [{"userId": stopped}]
    props = quiet[0]["properties"]
    assert isinstance(props, dict) and props["count"] == 0
    # The deadline is a week after the last use: that is the derived event's time.
    assert quiet[0]["timestamp"] == iso(now - 3 * DAY_MS)
    metrics = proc.metrics()
    assert metrics[f'eventyard_signals_fired_total{{rule="{QUIET}"}}'] == 1
    assert metric_sum(metrics, "eventyard_signals_state_windows") >= 1


async def test_replaying_the_input_emits_nothing_new(yard: Yard) -> None:
    s = yard.settings
    now = int(time.time() * 1000)
    t0 = now - 2 * DAY_MS
    worker = yard.worker()
    proc = yard.signals()
    worker.wait_assigned()
    proc.wait_assigned()
    users = [f"replay-{i}" for i in range(5)]
    sends = [event("FeatureUsed", f"r-{u}-{k}", u, t0 + k * 3_600_000)
             for u in users for k in range(3)]
    async with yard.reader() as reader:
        await yard.send(sends)
        await reader.wait_for(lambda r: len(derived(r, s.topic_warehouse, PQL)) >= len(users))
        await wait_caught_up(reader, s)
        raw_before = len(derived(reader.records, s.topic_raw, PQL))

        # 1. The warehouse input again, as a crashed worker's replay would write it.
        inputs = [r for r in reader.records[s.topic_warehouse]
                  if orjson.loads(r.value)["event"] == "FeatureUsed"]
        from eventyard.commands.send import send_records
        await send_records(s, s.topic_warehouse, [(r.key, r.value) for r in inputs])
        await reader.wait_for(
            lambda r: len(r[s.topic_warehouse]) >= len(sends) + len(users) + len(inputs))
        await wait_caught_up(reader, s)
        assert len(derived(reader.records, s.topic_raw, PQL)) == raw_before

        # 2. A processor with no state and its own group reads it all from the start: it
        # fires the same eventIds, and the router drops every one as a duplicate.
        proc.kill()
        fresh_env = {**yard.env, "EVENTYARD_SIGNALS_GROUP_ID": f"{yard.prefix}-signals-2",
                     "EVENTYARD_TOPIC_SIGNALS_STATE": f"{yard.prefix}.signals_state_2"}
        fresh = WorkerProcess("fresh", fresh_env, yard.tmp / "signals-fresh.log",
                              proc.metrics_port, cwd=proc.cwd, command="signals")
        yard.workers.append(fresh.start())
        fresh.wait_assigned()
        await reader.wait_for(
            lambda r: len(derived(r, s.topic_raw, PQL)) >= raw_before + len(users), timeout=60)
        raw_signals = derived(reader.records, s.topic_raw, PQL)
        await wait_routed(reader, worker, len(sends) + len(raw_signals))
        got = reader.records

    ids = Counter(str(b["eventId"]) for b in derived(got, s.topic_raw, PQL))
    assert len(ids) == len(users), "the replay fired the same eventIds, no new ones"
    fired = derived(got, s.topic_warehouse, PQL)
    assert sorted(str(b["user"]["userId"]) for b in fired) == users  # type: ignore[index]
    assert len(fired) == len(users), "nothing new reached the outputs"


async def test_state_follows_partitions_across_a_rebalance(yard: Yard) -> None:
    """Two processors in one group split the partitions; one is killed and the other takes
    its partitions with their windows: every user still fires exactly once."""
    s = yard.settings
    t0 = int(time.time() * 1000) - 2 * DAY_MS
    users = [f"reb-{i}" for i in range(12)]

    def uses(k: int) -> list[tuple[bytes, bytes]]:
        return [event("FeatureUsed", f"{u}-{k}", u, t0 + k * 3_600_000) for u in users]

    worker = yard.worker()
    a = yard.signals("a")
    worker.wait_assigned()
    a.wait_assigned()
    async with yard.reader() as reader:
        await yard.send(uses(0))
        b = yard.signals("b")  # joins: the group rebalances, a keeps half the partitions
        b.wait_assigned()
        await yard.send(uses(1))
        await reader.wait_for(lambda r: len(r[s.topic_warehouse]) >= 2 * len(users))
        await wait_caught_up(reader, s)
        a.kill()  # b takes a's partitions and restores their windows from the changelog
        await yard.send(uses(2) + uses(3))
        await reader.wait_for(
            lambda r: len(derived(r, s.topic_warehouse, PQL)) >= len(users), timeout=90)
        await reader.wait_for(lambda r: len(r[s.topic_warehouse]) >= 5 * len(users))
        await wait_caught_up(reader, s)
        await wait_routed(reader, worker,
                          4 * len(users) + len(derived(reader.records, s.topic_raw, PQL)))
        got = reader.records

    fired = Counter(str(b_["user"]["userId"])  # type: ignore[index]
                    for b_ in derived(got, s.topic_warehouse, PQL))
    assert fired == dict.fromkeys(users, 1)
    assert "signals restore:" in b.log() and b.log().count("assigned [") >= 2
