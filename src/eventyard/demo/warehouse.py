"""The demo's last step: `eventyard load` the output topics into a DuckDB file, then ask it
two questions (events per funnel stage, records per destination)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from eventyard.load import layout
from eventyard.load.loader import load_topics
from eventyard.load.sinks import DuckDBSink
from eventyard.settings import Settings
from eventyard.taxonomy import TAXONOMY

BY_STAGE = (
    f"SELECT coalesce(e.stage, 'custom'), count(*) FROM {layout.ROWS_TABLE} r "
    f"LEFT JOIN {layout.EVENTS_TABLE} e USING (event) WHERE r.class = 'warehouse' "
    "GROUP BY 1 ORDER BY 2 DESC"
)
BY_DESTINATION = (
    f"SELECT destination, class, count(*) FROM {layout.ROWS_TABLE} GROUP BY 1, 2 "
    "ORDER BY 3 DESC, 1"
)


@dataclass(frozen=True)
class WarehouseSummary:
    path: Path
    rows: int
    seconds: float
    by_stage: list[tuple[str, int]]
    by_destination: list[tuple[str, str, int]]


async def load_and_query(settings: Settings, path: Path) -> WarehouseSummary:
    started = time.monotonic()
    sink = DuckDBSink(str(path))
    try:
        sink.prepare([(e.name, e.stage) for e in TAXONOMY.values()])
        await load_topics(
            settings, sink, [settings.topic_warehouse, settings.topic_ads, settings.topic_crm],
            group_id=f"{settings.group_id}-demo-loader", batch_records=5000, batch_ms=200,
            exit_when_idle=True,
        )
        rows = sink.query(f"SELECT count(*) FROM {layout.ROWS_TABLE}")[0][0]
        by_stage = [(str(s), int(n)) for s, n in sink.query(BY_STAGE)]
        by_dest = [(str(d), str(c), int(n)) for d, c, n in sink.query(BY_DESTINATION)]
    finally:
        sink.close()
    return WarehouseSummary(path, rows, time.monotonic() - started, by_stage, by_dest)


def render(summary: WarehouseSummary) -> Table:
    table = Table(title=f"eventyard load → DuckDB: {summary.rows:,} rows in "
                  f"{summary.seconds:.1f}s, then SQL over {layout.ROWS_TABLE}",
                  title_justify="left")
    table.add_column("funnel stage (warehouse)")
    table.add_column("events", justify="right")
    table.add_column("destination")
    table.add_column("records", justify="right")
    for i in range(max(len(summary.by_stage), len(summary.by_destination))):
        stage = summary.by_stage[i] if i < len(summary.by_stage) else None
        dest = summary.by_destination[i] if i < len(summary.by_destination) else None
        table.add_row(
            stage[0] if stage else "", f"{stage[1]:,}" if stage else "",
            f"{dest[0]} ({dest[1]})" if dest else "", f"{dest[2]:,}" if dest else "",
        )
    return table
