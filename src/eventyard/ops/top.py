"""`eventyard top URL…`: the demo's live view (demo/view.py, demo/tally.py) fed by the
/metrics of running workers instead of a demo session.

Each URL is scraped every interval (prometheus_client's text parser); counts of all
workers are added up, rates are taken over the last few seconds, and a row per worker
shows whether it answers, which policy it runs and its lag, so a version skew or a worker
down is visible at once.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families
from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from eventyard.demo.tally import Rate, WorkerMetrics
from eventyard.demo.view import (
    MAX_REASONS,
    dead_letters_text,
    destinations_table,
    ms,
    n,
    skips_text,
)

SCRAPE_TIMEOUT_S = 3.0


def metrics_url(url: str) -> str:
    """`host:port`, `http://host:port` or a full /metrics URL -> the /metrics URL."""
    if "://" not in url:
        url = "http://" + url
    return url if url.rstrip("/").endswith("/metrics") else url.rstrip("/") + "/metrics"


def _key(name: str, labels: dict[str, str]) -> str:
    if not labels:
        return name
    body = ",".join('{}="{}"'.format(k, v.replace("\\", "\\\\").replace('"', '\\"'))
                    for k, v in labels.items())
    return f"{name}{{{body}}}"


def parse(text: str) -> dict[str, float]:
    """Prometheus text -> {'name{labels}': value}, the shape WorkerMetrics reads."""
    return {_key(s.name, s.labels): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url, timeout=SCRAPE_TIMEOUT_S) as response:
        return parse(response.read().decode())


@dataclass
class Worker:
    url: str
    metrics: WorkerMetrics | None = None
    error: str | None = None
    rate: Rate = field(default_factory=Rate)


@dataclass
class TopState:
    workers: list[Worker]
    total: WorkerMetrics = field(default_factory=WorkerMetrics)
    rate_in: Rate = field(default_factory=Rate)
    rate_out: Rate = field(default_factory=Rate)
    rate_dest: dict[str, Rate] = field(default_factory=dict)
    scrapes: int = 0

    @classmethod
    def of(cls, urls: list[str]) -> TopState:
        return cls([Worker(metrics_url(u)) for u in urls])

    async def refresh(self) -> None:
        async def one(w: Worker) -> None:
            try:
                samples = await asyncio.to_thread(scrape, w.url)
                w.metrics, w.error = WorkerMetrics.from_samples(samples), None
            except (OSError, ValueError) as exc:
                w.metrics, w.error = None, type(exc).__name__

        await asyncio.gather(*(one(w) for w in self.workers))
        now = time.monotonic()
        up = [w.metrics for w in self.workers if w.metrics is not None]
        self.total = WorkerMetrics.merged(up)
        for w in self.workers:
            if w.metrics is not None:
                w.rate.update(now, w.metrics.consumed)
        self.rate_in.update(now, self.total.consumed)
        self.rate_out.update(now, sum(self.total.routed.values()))
        for dest, count in self.total.routed.items():
            self.rate_dest.setdefault(dest, Rate()).update(now, count)
        self.scrapes += 1


def _workers(st: TopState) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1), pad_edge=False)
    for col, justify in (("worker", "left"), ("policy", "left"), ("consumed", "right"),
                         ("ev/s", "right"), ("lag", "right"), ("state", "left")):
        table.add_column(col, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    versions = {w.metrics.policy_version for w in st.workers if w.metrics is not None}
    for w in st.workers:
        m = w.metrics
        if m is None:
            table.add_row(w.url, "–", "–", "–", "–", Text(f"down ({w.error})", style="bold red"))
            continue
        state = Text("policy file rejected", style="red") if m.stale else Text("ok", "green")
        version = Text(m.policy_version or "?", style="bold red" if len(versions) > 1 else "")
        table.add_row(w.url, version, n(m.consumed), n(w.rate.per_second), n(m.lag), state)
    return table


def top_view(st: TopState) -> RenderableType:
    m = st.total
    up = sum(w.metrics is not None for w in st.workers)
    rates = Text()
    rates.append("in ", style="dim").append(f"{n(st.rate_in.per_second)} ev/s", style="bold")
    rates.append(" · out ", style="dim").append(f"{n(st.rate_out.per_second)} rec/s",
                                                 style="bold")
    p50, p99 = m.processing_quantile(0.5), m.processing_quantile(0.99)
    rates.append(" · processing p50 ", style="dim").append(ms(p50 * 1000 if p50 else None))
    rates.append(" p99 ", style="dim").append(ms(p99 * 1000 if p99 else None))
    totals = Text()
    totals.append(f"consumed {n(m.consumed)} = routed {n(m.unique)} + dead letters "
                  f"{n(m.dead)} + duplicates {n(m.duplicates)}", style="dim")
    grid = Table.grid(padding=(0, 4))
    grid.add_column(min_width=36)
    grid.add_column()
    right = Text(f"duplicates dropped {n(m.duplicates)}", style="bold yellow")
    right.append("\n").append_text(skips_text(m.skipped))
    grid.add_row(dead_letters_text(m.dead_letters, MAX_REASONS), right)
    rates_dest = {d: r.per_second for d, r in st.rate_dest.items()}
    parts: list[RenderableType] = [
        _workers(st), rates, totals, Text(),
        destinations_table(m.classes, m.routed, rates_dest), Text(), grid,
    ]
    title = Text.assemble(("eventyard top", "bold"),
                          (f" · {up}/{len(st.workers)} workers up · policy ", "dim"),
                          (m.policy_version or "mixed!" if up else "…", "bold"))
    return Panel(Group(*parts), title=title, title_align="left", border_style="blue",
                 padding=(0, 1))
