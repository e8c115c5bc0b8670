"""The demo's signals processor: `eventyard signals` beside the worker, so the run shows
derived events (ProductQualifiedLead: trial users who used a feature 3 times) appear on
the CRM and warehouse topics, routed by the worker like any other event."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

from eventyard.local.broker import free_port
from eventyard.local.harness import WorkerProcess, metric_sum

CATCH_UP_TIMEOUT_S = 60.0


class DemoSignals:
    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.process = WorkerProcess("signals", env, workdir / "signals.log", free_port(),
                                     command="signals")
        self.fired: dict[str, int] = {}

    def start(self) -> None:
        self.process.start()

    def wait_ready(self, timeout: float) -> None:
        self.process.wait_assigned(timeout)

    def _scrape(self) -> float:
        """Warehouse records read so far; updates `fired` (signal -> derived events)."""
        samples = self.process.metrics()
        prefix = 'eventyard_signals_fired_total{rule="'
        self.fired = {k[len(prefix):-2]: int(v) for k, v in samples.items()
                      if k.startswith(prefix)}
        return metric_sum(samples, "eventyard_signals_records_total")

    async def catch_up(self, warehouse_records: int) -> int:
        """Until the processor has read `warehouse_records`; the derived events it wrote."""
        deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
        while self.process.alive() and time.monotonic() < deadline:
            try:
                if await asyncio.to_thread(self._scrape) >= warehouse_records:
                    break
            except OSError:
                pass  # not serving yet
            await asyncio.sleep(0.2)
        return sum(self.fired.values())

    def stop(self) -> None:
        if not self.process.alive():
            return
        try:
            self.process.terminate(10.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
