"""Live policy reload on a running worker (issue: ops reload): a valid edit applies within a
bounded time with no event lost or routed twice across the swap; a broken edit is refused
while the old version keeps routing; a fix recovers, all without a restart."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from eventyard.policy import policy_version

from .conftest import Record, WorkerProcess, Yard, metric_sum

pytestmark = pytest.mark.integration

BATCH = 60


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def wait_metric(worker: WorkerProcess, pred: str, timeout: float = 20.0) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        metrics = worker.metrics()
        if any(k.startswith(pred) and v > 0 for k, v in metrics.items()):
            return metrics
        time.sleep(0.2)
    raise AssertionError(f"{pred} never appeared:\n{worker.log()[-3000:]}")


def signups(tag: str) -> list[tuple[bytes | None, bytes]]:
    out = []
    for i in range(BATCH):
        ev = {"event": "SignUp", "eventId": f"{tag}-{i}", "userId": f"u-{i}",
              "email": f"user{i}@example.com"}
        out.append((ev["eventId"].encode(), orjson.dumps(ev)))
    return out


def meta_names(records: dict[str, list[Record]], topic: str) -> dict[str, tuple[str, str]]:
    """eventId -> (native name, policyVersion) of every meta record; asserts no repeats."""
    seen = Counter()
    out = {}
    for r in records[topic]:
        rec = orjson.loads(r.value)
        if rec["destination"] == "meta":
            seen[rec["eventId"]] += 1
            out[rec["eventId"]] = (rec["name"], rec["policyVersion"])
    assert max(seen.values(), default=1) == 1, "an event was routed twice to meta"
    return out


async def test_edit_broken_edit_and_fix_apply_live(yard: Yard) -> None:
    s = yard.settings
    policy_path = Path(s.policy_path)
    original = policy_path.read_text()
    v1 = policy_version(original.encode())
    edited = original.replace("SignUp: CompleteRegistration", "SignUp: AccountCreated", 1)
    v2 = policy_version(edited.encode())
    fixed = original.replace("SignUp: CompleteRegistration", "SignUp: SignedUp", 1)
    v3 = policy_version(fixed.encode())
    assert len({v1, v2, v3}) == 3

    worker = yard.worker()
    worker.wait_assigned()
    async with yard.reader() as reader:

        async def route(tag: str) -> dict[str, tuple[str, str]]:
            await yard.send(signups(tag))
            want = {f"{tag}-{i}" for i in range(BATCH)}
            got = await reader.wait_for(
                lambda r: want <= set(meta_names(r, s.topic_ads)), timeout=60
            )
            return {k: v for k, v in meta_names(got, s.topic_ads).items() if k in want}

        before = await route("a")
        assert set(before.values()) == {("CompleteRegistration", v1)}

        write_atomically(policy_path, edited)
        wait_metric(worker, f'eventyard_policy_info{{version="{v2}"}}')
        after = await route("b")
        assert set(after.values()) == {("AccountCreated", v2)}

        write_atomically(policy_path, "version: 1\ndestinations:\n  meta: [\n")
        metrics = wait_metric(worker, 'eventyard_policy_reloads_total{result="rejected"}')
        assert metric_sum(metrics, "eventyard_policy_stale") == 1
        still = await route("c")
        assert set(still.values()) == {("AccountCreated", v2)}, "old version keeps routing"

        write_atomically(policy_path, fixed)
        metrics = wait_metric(worker, f'eventyard_policy_info{{version="{v3}"}}')
        assert metric_sum(metrics, "eventyard_policy_stale") == 0
        recovered = await route("d")
        assert set(recovered.values()) == {("SignedUp", v3)}

        final = meta_names(await reader.drain(), s.topic_ads)
    assert len(final) == 4 * BATCH, "every event routed to meta exactly once across swaps"
    assert "policy reloaded" in worker.log()
