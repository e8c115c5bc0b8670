"""The ops tools against a real broker and worker, through the real CLI: `tap` filters and
masks, `trace` finds a routed, a dead-lettered and a duplicated eventId, and `dlq redrive`
after a policy fix routes the formerly rejected records exactly once, a second redrive
routes nothing new, a dry run writes nothing, and a record past the maximum is refused."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import TopicPartition

from eventyard.kafka import clients as kafka
from eventyard.policy import policy_version
from eventyard.settings import Settings

from .conftest import REPO, Record, TopicReader, WorkerProcess, Yard, metric_sum

pytestmark = pytest.mark.integration


async def cli(yard: Yard, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "eventyard.cli", *args, cwd=REPO,
        env={**os.environ, **yard.env}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def cli_json(yard: Yard, *args: str) -> Any:
    code, out, err = await cli(yard, *args)
    assert code == 0, err
    return orjson.loads(out)


def lines(out: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in out.splitlines() if line.strip()]


def event(event_id: str, name: str = "SignUp", **extra: object) -> dict[str, object]:
    return {"event": name, "eventId": event_id, "userId": f"user-{event_id}",
            "email": f"{event_id}@example.com", **extra}


def keyed(*events: dict[str, object], key: bytes | None = None) -> list[tuple[bytes | None,
                                                                             bytes]]:
    return [(key or str(e["eventId"]).encode(), orjson.dumps(e)) for e in events]


def wait_metric(worker: WorkerProcess, name: str, at_least: float,
                timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while metric_sum(worker.metrics(), name) < at_least:
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} stayed below {at_least}:\n{worker.log()[-3000:]}")
        time.sleep(0.2)


def ids_of(records: list[Record]) -> Counter[str]:
    return Counter(orjson.loads(r.value)["eventId"] for r in records)


async def test_tap_filters_and_masks_and_trace_finds_each_fate(yard: Yard) -> None:
    s = yard.settings
    worker = yard.worker()
    worker.wait_assigned()
    signup = event("t-signup")
    await yard.send(keyed(signup, event("t-buy", "Purchase", value=9.5, currency="EUR",
                                        consent={"ads": False}),
                          event("t-bad", consent={"ads": "no"})))
    # A second copy of the signup keyed by user, as a server-side duplicate would be.
    await yard.send(keyed({**signup, "source": "server"}, key=b"user-t-signup"))
    async with yard.reader() as reader:
        await reader.wait_for(lambda r: len(r[s.topic_warehouse]) == 2
                              and len(r[s.topic_dlq]) == 1
                              and len(r[s.topic_duplicates]) == 1)
    version = policy_version(Path(s.policy_path).read_bytes())

    # tap: destination filter, over every output topic, bounded at the high watermark.
    code, out, _ = await cli(yard, "tap", "--from", "beginning", "--to-end", "--json",
                             "--destination", "meta")
    meta = lines(out)
    assert code == 0
    assert [(r["value"]["eventId"], r["value"]["name"]) for r in meta] == [
        ("t-signup", "CompleteRegistration")]
    assert {r["role"] for r in meta} == {"ads"}

    # class + eventId filters; CRM records mask raw contact fields unless --show-pii.
    args = ["tap", "crm", "--from", "beginning", "--to-end", "--json", "--class", "crm",
            "--event-id", "t-signup"]
    _, out, _ = await cli(yard, *args)
    crm = lines(out)
    assert {r["value"]["destination"] for r in crm} == {"hubspot", "salesforce"}
    assert all(r["value"]["user"]["email"] == "•••" for r in crm)
    assert "t-signup@example.com" not in out
    _, shown, _ = await cli(yard, *args, "--show-pii")
    assert "t-signup@example.com" in shown

    # reason filter on the DLQ; the original bytes are masked too, ids stay visible.
    _, out, _ = await cli(yard, "tap", "dlq", "raw", "--from", "beginning", "--to-end",
                          "--json", "--reason", "contract.consent.value_type")
    [dl] = lines(out)
    assert (dl["role"], dl["key"], dl["value"]["eventId"], dl["value"]["email"]) == (
        "dlq", "t-bad", "t-bad", "•••")
    # event filter and --count.
    _, out, _ = await cli(yard, "tap", "warehouse", "--from", "beginning", "--json",
                          "--event", "Purchase", "--count", "1")
    assert [r["value"]["eventId"] for r in lines(out)] == ["t-buy"]

    # trace: routed + duplicate.
    t = await cli_json(yard, "trace", "t-signup", "--since", "1h", "--json")
    routed = {r["destination"]: r["name"] for r in t["routed"]}
    assert routed["meta"] == "CompleteRegistration" and routed["hubspot"] == "sign_up"
    assert routed["warehouse"] == "SignUp"
    assert t["policyVersions"] == [version]
    assert len(t["raw"]) == 2 and t["deadLetters"] == []
    [dup] = t["duplicates"]
    copies = {(r["topic"], r["partition"], r["offset"]) for r in t["raw"]}
    assert (dup["topic"], dup["partition"], dup["offset"]) in copies
    assert t["skipped"] == {}  # every destination maps SignUp
    assert {p["topic"] for p in t["scanned"]["partitions"]} == {
        s.topic_raw, s.topic_dlq, s.topic_ads, s.topic_crm, s.topic_warehouse,
        s.topic_duplicates}

    # trace: skip reasons come from the warehouse record's routedTo.
    t = await cli_json(yard, "trace", "t-buy", "--json")
    ads = {"meta", "google", "linkedin", "tiktok", "reddit"}
    assert t["skipped"] == dict.fromkeys(ads, "no_consent")
    assert {r["destination"] for r in t["routed"]} == {"hubspot", "salesforce", "warehouse"}
    assert t["duplicates"] == []

    # trace: dead-lettered, in text form.
    code, out, _ = await cli(yard, "trace", "t-bad")
    assert code == 0
    assert "contract.consent.value_type" in out and "scanned" in out
    assert "not-an-address" not in out
    code, out, _ = await cli(yard, "trace", "t-nowhere", "--since", "1h")
    assert code == 1 and "not found" in out

    # top: the live view from the worker's /metrics (one frame), a dead URL shown as down.
    code, out, _ = await cli(yard, "top", f"127.0.0.1:{worker.metrics_port}", "127.0.0.1:1",
                             "--once", "--interval", "0.2")
    assert code == 0
    assert "1/2 workers up" in out and version in out and "down" in out
    assert "consumed 4 = routed 2 + dead letters 1 + duplicates 1" in out
    assert "contract.consent.value_type" in out and "hubspot" in out


CUSTOM = 12
MALFORMED = 4


async def committed(s: Settings, group: str, topic: str) -> int:
    """Sum of `group`'s committed offsets over `topic`'s partitions."""
    consumer = kafka.plain_consumer(s, "it-offsets", offsets_group=group)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(s.partitions)]
        consumer.assign(tps)
        return sum([await consumer.committed(tp) or 0 for tp in tps])
    finally:
        await consumer.stop()


async def counts(reader: TopicReader) -> dict[str, int]:
    return {t: len(r) for t, r in (await reader.drain()).items()}


async def test_redrive_after_a_policy_fix_routes_each_rejected_record_once(yard: Yard) -> None:
    s = yard.settings
    policy = Path(s.policy_path)
    original = policy.read_text()
    policy.write_text(original.replace("custom_events: warehouse", "custom_events: reject"))
    worker = yard.worker()
    worker.wait_assigned()
    custom = [event(f"c-{i}", "WebinarWatched") for i in range(CUSTOM)]
    malformed = [event(f"m-{i}", consent={"ads": "no"}) for i in range(MALFORMED)]
    await yard.send(keyed(*custom, *malformed, event("ok-1")))
    async with yard.reader() as reader:
        await reader.wait_for(lambda r: len(r[s.topic_dlq]) == CUSTOM + MALFORMED
                              and len(r[s.topic_warehouse]) == 1)
        # The fix: custom events go to the warehouse again. Wait for the live reload.
        policy.write_text(original)
        fixed = policy_version(original.encode())
        deadline = time.monotonic() + 30
        while f'eventyard_policy_info{{version="{fixed}"}}' not in worker.metrics():
            assert time.monotonic() < deadline, worker.log()[-3000:]
            await asyncio.sleep(0.2)

        # Dry run: predicts with the current policy, writes nothing anywhere.
        before = await counts(reader)
        dry = await cli_json(yard, "dlq", "redrive", "--dry-run", "--json")
        assert dry["dryRun"] and dry["sent"] == 0 and dry["selected"] == CUSTOM + MALFORMED
        assert dry["outcomes"] == {"would route: warehouse:WebinarWatched": CUSTOM,
                                   "would dead-letter: contract.consent.value_type": MALFORMED}
        await asyncio.sleep(1)  # anything it wrongly wrote would be routed by now
        assert await counts(reader) == before

        # The real run, of exactly the fixed reason.
        run = await cli_json(yard, "dlq", "redrive", "--reason", "taxonomy.unknown_event",
                             "--rate", "50", "--json")
        assert (run["selected"], run["sent"], run["refused"]) == (CUSTOM, CUSTOM, 0)
        got = await reader.wait_for(lambda r: len(r[s.topic_warehouse]) == 1 + CUSTOM)
        redriven = [r for r in got[s.topic_warehouse]
                    if orjson.loads(r.value)["event"] == "WebinarWatched"]
        assert ids_of(redriven) == Counter({e["eventId"]: 1 for e in custom})
        assert {orjson.loads(r.value)["policyVersion"] for r in redriven} == {fixed}
        raw_copies = [r for r in got[s.topic_raw] if r.headers]
        assert len(raw_copies) == CUSTOM
        assert all(dict(r.headers)["eventyard-redrive-count"] == b"1" for r in raw_copies)
        # Its progress went to its own group: every DLQ record it read, committed.
        assert await committed(s, f"{s.group_id}-redrive", s.topic_dlq) == CUSTOM + MALFORMED

        # A second run re-sends them; dedup drops every copy, nothing new is routed.
        dups = metric_sum(worker.metrics(), "eventyard_duplicates_total")
        again = await cli_json(yard, "dlq", "redrive", "--reason", "taxonomy.unknown_event",
                               "--json")
        assert again["sent"] == CUSTOM
        wait_metric(worker, "eventyard_duplicates_total", dups + CUSTOM)
        got = await reader.wait_for(
            lambda r: len(r[s.topic_duplicates]) >= CUSTOM)
        assert len(got[s.topic_warehouse]) == 1 + CUSTOM
        assert max(ids_of(got[s.topic_warehouse]).values()) == 1

        # Records that still fail come back with their count and are refused at the max.
        first = await cli_json(yard, "dlq", "redrive", "--reason", "contract.consent.value_type",
                               "--max-redrives", "1", "--json")
        assert (first["sent"], first["refused"]) == (MALFORMED, 0)
        got = await reader.wait_for(
            lambda r: len(r[s.topic_dlq]) == CUSTOM + 2 * MALFORMED)
        returned = [r for r in got[s.topic_dlq] if dict(r.headers).get(
            "eventyard-redrive-count") == b"1"]
        assert len(returned) == MALFORMED
        second = await cli_json(yard, "dlq", "redrive", "--reason", "contract.consent.value_type",
                                "--max-redrives", "1", "--dry-run", "--json")
        assert second["refused"] == MALFORMED
        assert {r["redrives"] for r in second["records"] if r["outcome"].startswith(
            "refused")} == {1}
