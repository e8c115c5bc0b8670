"""The end of a demo run: a short human summary and the same figures as JSON.

The JSON (`--summary-json`) is what tests compare with the topics they read back
themselves, so every count in it comes from the topics or the worker's metrics, never
from the generator's intentions (those are reported separately, under "generator").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from rich.console import Console, Group, RenderableType
from rich.json import JSON
from rich.table import Table
from rich.text import Text

from eventyard.demo import warehouse
from eventyard.demo.state import DemoState
from eventyard.demo.tally import Sample

LOG_TAIL_LINES = 25
SAMPLE_FIELDS = {
    "ads": ("destination", "name", "event", "eventId", "user", "value", "currency"),
    "crm": ("destination", "name", "event", "eventId", "user"),
    "warehouse": ("name", "event", "eventId", "source", "policyVersion", "routedTo"),
}


def ok(st: DemoState) -> bool:
    return st.error is None and bool(st.checks) and all(c.ok for c in st.checks)


def to_json(st: DemoState) -> dict[str, Any]:
    t, m = st.tally, st.metrics
    lat = t.latency
    p50, p99 = m.processing_quantile(0.5), m.processing_quantile(0.99)
    return {
        "ok": ok(st),
        "error": st.error,
        "interrupted": st.interrupted,
        "aborted": st.aborted,
        "run_id": st.run_id,
        "bootstrap_servers": st.bootstrap,
        "own_broker": st.own_broker,
        "policy_path": str(st.opts.policy),
        "policy_version": st.policy_version,
        "policy_versions_routed": dict(t.policy_versions),
        "metrics_url": st.metrics_url,
        "edge_url": st.edge_url,
        "via_edge": st.via_edge,
        "worker_pid": st.worker_pid,
        "logs": str(st.workdir) if st.workdir.exists() else None,
        "elapsed_s": round(st.elapsed, 3),
        "produced": st.produced,
        "consumed": t.counts["raw"],
        "routed_events": t.routed_events,
        "dead_letters": t.counts["dlq"],
        "duplicates": m.duplicates,
        "topics": {role: {"topic": name, "records": t.counts[role]}
                   for role, name in st.topics.items()},
        "destinations": {d: {"class": t.classes[d], "records": t.destinations[d],
                             "metric": m.routed[d]} for d in sorted(t.destinations)},
        "dead_letter_reasons": dict(t.dead_letters),
        "skipped": dict(m.skipped),
        "metrics": {"consumed": m.consumed, "unique": m.unique, "duplicates": m.duplicates,
                    "dead_letters": dict(m.dead_letters), "routed": dict(m.routed)},
        "latency_ms": {"p50": lat.quantile(0.5), "p99": lat.quantile(0.99)},
        "processing_s": {"p50": p50, "p99": p99},
        "generator": {"sent": st.funnel.sent, "events": st.funnel.events,
                      "visitors": st.funnel.visitors,
                      "milestones": dict(st.funnel.milestones),
                      "stages": dict(st.funnel.stages),
                      "duplicates": dict(st.funnel.duplicates),
                      "malformed": dict(st.funnel.malformed)},
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in st.checks],
        "signals_fired": dict(st.signals),
        "warehouse_load": None if st.warehouse is None else {
            "rows": st.warehouse.rows,
            "by_stage": dict(st.warehouse.by_stage),
            "by_destination": {d: n for d, _c, n in st.warehouse.by_destination},
        },
    }


def write_json(st: DemoState, path: Path) -> None:
    path.write_bytes(orjson.dumps(to_json(st), option=orjson.OPT_INDENT_2))


def render(st: DemoState) -> RenderableType:
    parts: list[RenderableType] = [_totals(st), _checks(st), Text()]
    parts += _samples(st)
    parts += [Text(), _next(st)]
    return Group(*parts)


def _totals(st: DemoState) -> RenderableType:
    t, m = st.tally, st.metrics
    rate = st.produced / st.elapsed if st.elapsed else 0.0
    head = Text()
    head.append("Summary", style="bold underline").append(
        f"  {st.produced:,} events in {st.elapsed:.1f} s (~{rate:,.0f}/s), policy "
        f"{st.policy_version or '?'}" + (" · stopped by Ctrl-C" if st.interrupted else ""))
    if st.via_edge:
        head.append("\n  of which ", style="dim").append(f"{st.via_edge:,}").append(
            " browser events over HTTP through the ingest edge (answered after the broker's "
            "acks), the rest straight to Kafka", style="dim")
    versions = t.policy_versions
    if len(versions) > 1:  # reloaded live: which version routed how much
        head.append("\n  routed by policy versions ", style="dim").append(
            " → ".join(f"{v} ({c:,} events)" for v, c in versions.items()))
    eq = Text("\n  consumed ", style="bold")
    eq.append(f"{t.counts['raw']:,}", style="bold").append(" = routed events ")
    eq.append(f"{t.routed_events:,}", style="bold green").append(" + dead letters ")
    eq.append(f"{t.counts['dlq']:,}", style="bold red").append(" + duplicates ")
    eq.append(f"{m.duplicates:,}", style="bold yellow")
    head.append_text(eq)

    table = Table(box=None, padding=(0, 2), pad_edge=True, show_edge=False)
    table.add_column("topic (read back)")
    table.add_column("records", justify="right")
    table.add_column("worker metrics", style="dim")
    by_class: dict[str, list[str]] = {}
    for d, c in sorted(t.destinations.items(), key=lambda kv: -kv[1]):
        by_class.setdefault(t.classes[d], []).append(f"{d} {c:,}")
    said = {
        "raw": f"consumed {m.consumed:,}",
        "ads": f"routed {sum(m.routed[d] for d in t.classes if t.classes[d] == 'ads'):,}",
        "crm": f"routed {sum(m.routed[d] for d in t.classes if t.classes[d] == 'crm'):,}",
        "warehouse": f"unique events {m.unique:,}",
        "dlq": f"dead letters {m.dead:,} in {len(m.dead_letters)} reasons",
    }
    for role, topic in st.topics.items():
        detail = said[role]
        if role in ("ads", "crm") and role in by_class:
            detail += "  (" + ", ".join(by_class[role][:5]) + ")"
        table.add_row(topic, f"{t.counts[role]:,}", detail)
    dup = st.funnel.duplicates
    table.add_row("duplicates (no record)", f"{m.duplicates:,}",
                  f"caught; sent {dup['server_copy']:,} purchase server copies + "
                  f"{dup['retry']:,} browser retries")
    lat = t.latency
    p50, p99 = m.processing_quantile(0.5), m.processing_quantile(0.99)
    more = Table.grid(padding=(0, 2))
    more.add_column(style="dim", no_wrap=True)
    more.add_column()
    more.add_row("  latency", f"raw → warehouse p50 {_ms(lat.quantile(0.5))} · p99 "
                 f"{_ms(lat.quantile(0.99))}; worker batch p50 {_ms(p50 and p50 * 1000)} · "
                 f"p99 {_ms(p99 and p99 * 1000)}")
    skipped = [f"{r} {c:,}" for r, c in m.skipped.most_common() if r != "not_in_policy"]
    more.add_row("  not sent", " · ".join(skipped or ["–"]) + f" (and not_in_policy "
                 f"{m.skipped['not_in_policy']:,}: unmapped for that destination)")
    return Group(head, table, more)


def _ms(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f} ms"


def _checks(st: DemoState) -> RenderableType:
    if st.error:
        return Text(f"  ✗ {st.error}", style="bold red")
    failed = [c for c in st.checks if not c.ok]
    if not st.checks:
        return Text("  ✗ no totals: the run ended before the topics were read", style="red")
    if not failed:
        return Text(f"  ✓ all {len(st.checks)} checks agree: topics read back, worker metrics "
                    "and the traffic sent", style="green")
    out = Text()
    for c in failed:
        out.append(f"  ✗ {c.name}: {c.detail}\n", style="bold red")
    out.append(f"  ({len(st.checks) - len(failed)} other checks agree; logs in {st.workdir})",
               style="dim")
    return out


def _samples(st: DemoState) -> list[RenderableType]:
    samples = st.tally.samples
    out: list[RenderableType] = [Text("Sample records", style="bold underline")]
    for role, topic in st.topics.items():
        sample = samples.get(role)
        if role == "raw" or sample is None:
            continue
        out.append(Text(f"{topic}  ", style="bold").append(_caption(role, sample), style="dim"))
        out.append(_sample_body(role, sample))
    return out


def _caption(role: str, s: Sample) -> str:
    r = s.record or {}
    if role == "ads":
        return (f"{r.get('destination')}: {r.get('event')} → {r.get('name')}, PII SHA-256 "
                "hashed per the platform's rules")
    if role == "crm":
        return f"{r.get('destination')}: {r.get('event')} → {r.get('name')}, PII raw for matching"
    if role == "warehouse":
        return "canonical name, full fidelity, routedTo says who got it and why not"
    return "original bytes and key, reason and detail in headers"


def _sample_body(role: str, s: Sample) -> RenderableType:
    if role == "dlq":
        t = Text()
        for h in ("eventyard-reason", "eventyard-detail"):
            t.append(f"  {h}: ", style="dim").append(s.headers.get(h, "?"), style="red")
            t.append("\n")
        value = (s.value or b"")[:120]
        t.append("  value: ", style="dim").append(repr(value))
        return t
    record = {k: s.record[k] for k in SAMPLE_FIELDS[role] if s.record and k in s.record}
    text = JSON(orjson.dumps(record).decode(), indent=None).text
    text.no_wrap, text.overflow = False, "fold"  # one record, wrapped: shorter than indented
    return text


def _next(st: DemoState) -> RenderableType:
    rows = [
        ("eventyard explain EVENT.json", "what the router does with one event, and why"),
        ("eventyard check-policy config/routing.yaml", "lint the policy"),
        (st.metrics_url or "/metrics", "Prometheus metrics, while a worker runs"),
        ("docs/ops.md, docs/reason-codes.md", "policy rollout and reload; DLQ reasons"),
        ("eventyard demo --duration 120", "and edit config/routing.yaml meanwhile: the "
         "worker reloads it, new names show up live"),
    ]
    table = Table(box=None, padding=(0, 2), show_header=False, show_edge=False)
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(style="dim")
    for cmd, why in rows:
        table.add_row(cmd, why)
    return Group(Text("Next", style="bold underline"), table)


def print_summary(console: Console, st: DemoState) -> None:
    if st.error is None:
        console.print(render(st))
        if st.warehouse is not None:
            console.print(warehouse.render(st.warehouse))
        if st.signals:
            fired = ", ".join(f"{name} {n:,}" for name, n in sorted(st.signals.items()))
            console.print(Text(f"signals fired (eventyard signals, routed to warehouse + CRMs): "
                               f"{fired}", style="bold"))
        return
    # Totals of a run cut short cannot add up; what helps is why, and where to look.
    console.print(Text(f"✗ demo failed: {st.error}", style="bold red"))
    if st.worker_log_tail:
        console.print(Text(f"worker log (full log: {st.workdir / 'worker.log'}):", style="bold"))
        console.print(Text(log_excerpt(st.worker_log_tail), style="dim"), soft_wrap=True)
    console.print(f"logs: {st.workdir}", markup=False)


def log_excerpt(log: str, lines: int = LOG_TAIL_LINES) -> str:
    """From the first error on, else the end: faust logs a page of orderly shutdown after
    the line that matters."""
    all_lines = log.splitlines()
    for i, line in enumerate(all_lines):
        if "[ERROR]" in line or line.startswith("Traceback"):
            return "\n".join(all_lines[i:i + lines])
    return "\n".join(all_lines[-lines:])
