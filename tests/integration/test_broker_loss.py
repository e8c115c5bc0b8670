"""A broker that dies and comes back empty (a memory-only Tansu after a crash): /healthz
fails during the outage, the metrics stop claiming a lag they cannot know, the client's
errors are rate-limited, and once the empty broker is back the worker says so in one line
and exits non-zero instead of stalling (worker/topic_guard.py).

The test runs its own broker, never the session's: it is stopped and replaced."""

from __future__ import annotations

import os
import re
import signal
import time
import urllib.error
import urllib.request

import pytest

from eventyard.kafka import clients as kafka
from eventyard.local.broker import LocalBroker, free_port
from eventyard.local.traffic import generate
from eventyard.worker.topic_guard import EXIT_CODE

from .conftest import Yard

pytestmark = pytest.mark.integration

DOWN_AFTER_S = 3


def healthz(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def wait(condition: object, what: str, timeout: float) -> float:
    """Seconds until `condition()` held (a bound against a hang, not a timing claim)."""
    start = time.monotonic()
    while not condition():  # type: ignore[operator]
        assert time.monotonic() - start < timeout, f"timed out waiting for {what}"
        time.sleep(0.1)
    return time.monotonic() - start


async def test_broker_lost_and_back_empty_makes_the_worker_exit(yard: Yard) -> None:
    port = free_port()
    first = LocalBroker(port=port, log_path=yard.tmp / "broker-1.log").start()
    second: LocalBroker | None = None
    try:
        yard.env["EVENTYARD_BOOTSTRAP_SERVERS"] = first.bootstrap
        yard.env["EVENTYARD_BROKER_DOWN_AFTER_S"] = str(DOWN_AFTER_S)
        worker = yard.worker()
        worker.wait_assigned()
        traffic = list(generate(300, now_ms=int(time.time() * 1000), seed=5))
        await yard.send([(r.key, r.value) for r in traffic])
        wait(lambda: worker.metrics().get("eventyard_events_consumed_total", 0) >= 300,
             "the traffic consumed", 60)
        assert healthz(worker.metrics_port) == 200
        assert worker.metrics()["eventyard_broker_up"] == 1

        # Paused (SIGSTOP: connections stay open, nothing answers), then resumed with its
        # data: unhealthy meanwhile, healthy again after, and the worker stays up.
        assert first.pid is not None
        os.kill(first.pid, signal.SIGSTOP)
        try:
            paused = wait(lambda: healthz(worker.metrics_port) == 503, "503 while paused", 60)
            # a check that gets no answer fails after its own timeout (5 s)
            wait(lambda: worker.metrics()["eventyard_broker_up"] == 0, "broker_up 0", 60)
        finally:
            os.kill(first.pid, signal.SIGCONT)
        wait(lambda: healthz(worker.metrics_port) == 200, "200 after the pause", 60)
        assert worker.alive() and worker.metrics()["eventyard_broker_up"] == 1
        print(f"\nbroker paused -> /healthz 503: {paused:.1f}s")

        log_before = len(worker.log().splitlines())
        first.stop()
        lost_at = time.monotonic()
        to_unhealthy = wait(lambda: healthz(worker.metrics_port) == 503, "/healthz 503", 60)
        down = worker.metrics()
        assert down["eventyard_broker_up"] == 0
        assert not [k for k in down if k.startswith("eventyard_consumer_lag")]
        # Let the clients fail for a while longer: their errors must stay few.
        time.sleep(DOWN_AFTER_S)
        outage_lines = worker.log().splitlines()[log_before:]

        second = LocalBroker(port=port, log_path=yard.tmp / "broker-2.log").start()
        restarted_at = time.monotonic()
        assert worker.proc is not None
        worker.proc.wait(60)
        exited_at = time.monotonic()
        print(f"\nbroker loss -> /healthz 503: {to_unhealthy:.1f}s (EVENTYARD_BROKER_DOWN_AFTER_S"
              f"={DOWN_AFTER_S}); broker loss -> worker exit: {exited_at - lost_at:.1f}s, of "
              f"which {exited_at - restarted_at:.1f}s after the empty broker was back")
        assert worker.proc.returncode == EXIT_CODE
        log = worker.log()
        lost = [line for line in log.splitlines() if "the broker lost this worker's topics" in line]
        assert len(lost) == 1, lost
        assert f"{yard.prefix}.dedup is gone" in lost[0]
        assert "Traceback" not in log
        noisy = [line for line in outage_lines if re.search(r"\b(ERROR|WARNING)\b", line)]
        assert len(noisy) <= 20, "\n".join(noisy)
        # No client of the worker recreated a topic on the new broker.
        admin = kafka.admin(yard.settings)
        await admin.start()
        try:
            assert not [t for t in await admin.list_topics() if t.startswith(yard.prefix)]
        finally:
            await admin.close()
    finally:
        if second is not None:
            second.stop()
        first.stop()
