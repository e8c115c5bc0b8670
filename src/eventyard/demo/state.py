"""What a demo run shows: its options and the state the session updates and the view,
the summary and the tests read."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from eventyard.demo.funnel import FunnelStats
from eventyard.demo.tally import Check, Rate, Tally, WorkerMetrics
from eventyard.demo.warehouse import WarehouseSummary


@dataclass(frozen=True)
class DemoOptions:
    events: int | None  # None: until --duration or Ctrl-C
    duration: float | None
    rate: float
    seed: int
    policy: Path
    bootstrap: str | None  # None: start a local Tansu broker
    workdir: Path | None = None


@dataclass
class DemoState:
    """Everything the view and the summary show; the session mutates it, nothing else."""

    opts: DemoOptions
    run_id: str
    workdir: Path
    tally: Tally
    funnel: FunnelStats
    phase: str = "starting"
    bootstrap: str = ""
    own_broker: bool = True
    metrics_url: str = ""
    edge_url: str = ""  # the ingest edge the browser events go through
    via_edge: int = 0  # events the edge acknowledged (counted in `produced` too)
    worker_pid: int | None = None
    policy_version: str | None = None
    started: float = field(default_factory=time.monotonic)
    producing_since: float | None = None
    elapsed: float = 0.0  # producing → done, for the summary
    produced: int = 0  # acknowledged by the broker
    metrics: WorkerMetrics = field(default_factory=WorkerMetrics)
    rate_in: Rate = field(default_factory=Rate)
    rate_out: Rate = field(default_factory=Rate)
    rate_dest: dict[str, Rate] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)  # role → topic name
    interrupted: bool = False
    aborted: bool = False  # a second Ctrl-C: stopped without draining, totals unreconciled
    checks: list[Check] = field(default_factory=list)
    error: str | None = None
    worker_log_tail: str | None = None
    warehouse: WarehouseSummary | None = None  # the output topics loaded into DuckDB
    signals: dict[str, int] = field(default_factory=dict)  # derived events fired, by signal

    def update_rates(self) -> None:
        now = time.monotonic()
        self.rate_in.update(now, self.metrics.consumed)
        self.rate_out.update(now, self.tally.output_records)
        for dest, n in self.tally.destinations.items():
            self.rate_dest.setdefault(dest, Rate()).update(now, n)
