"""`eventyard dlq stats` and `dlq show`: read the dead-letter topic within a window."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from eventyard.kafka import clients as kafka
from eventyard.ops.redrive import redrive_count
from eventyard.ops.scan import ScanReport, Start, position_at, read, start_client, topic_partitions
from eventyard.ops.views import Filter, View, view_of
from eventyard.ops.window import Window, iso_ms
from eventyard.settings import Settings


async def dead_letters(settings: Settings, window: Window, filt: Filter, report: ScanReport,
                       timeout_s: float = 120.0) -> AsyncGenerator[View, None]:
    """Dead letters in the window that match `filt`, up to the high watermark at start."""
    consumer = kafka.plain_consumer(settings, "eventyard-dlq")
    await start_client(consumer, settings)
    try:
        tps = await topic_partitions(consumer, [settings.topic_dlq])
        start = Start("since") if window.since_ms is not None else Start("beginning")
        live, _ = await position_at(consumer, tps, start, window, report)
        async for rec in read(consumer, live, report, bounded=True, timeout_s=timeout_s):
            v = view_of("dlq", rec)
            if filt.matches(v):
                yield v
    finally:
        await consumer.stop()


@dataclass
class DlqStats:
    report: ScanReport
    reasons: Counter[str] = field(default_factory=Counter)
    hours: Counter[str] = field(default_factory=Counter)
    redriven: int = 0

    def add(self, v: View) -> None:
        self.reasons[v.reason or "?"] += 1
        self.hours[iso_ms(v.rec.timestamp)[:13] + ":00Z"] += 1
        self.redriven += redrive_count(v.headers) > 0

    @property
    def total(self) -> int:
        return sum(self.reasons.values())

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "redriven": self.redriven,
                "byReason": dict(self.reasons.most_common()),
                "byHour": dict(sorted(self.hours.items())), "scanned": self.report.to_json()}

    def lines(self) -> list[str]:
        out = [f"{self.total:,} dead letters ({self.redriven:,} of them redriven before)"]
        if self.reasons:
            width = max(len(r) for r in self.reasons)
            out.append("by reason:")
            out += [f"  {r:<{width}}  {n:>8,}" for r, n in self.reasons.most_common()]
            out.append("by hour (UTC):")
            out += [f"  {h}  {n:>8,}" for h, n in sorted(self.hours.items())]
        out.append(self.report.describe())
        return out


async def stats(settings: Settings, window: Window, filt: Filter,
                timeout_s: float = 120.0) -> DlqStats:
    result = DlqStats(ScanReport(window))
    async for v in dead_letters(settings, window, filt, result.report, timeout_s):
        result.add(v)
    return result
