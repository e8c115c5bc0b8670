"""Rendering of the running demo: the rich live view and the plain progress line.

Reads a `DemoState` and draws it; it counts nothing itself.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from eventyard.demo.funnel import MILESTONES
from eventyard.demo.state import DemoState

CLASS_STYLE = {"ads": "magenta", "crm": "cyan", "warehouse": "green"}
MAX_REASONS = 6
TALL = 34  # rows the roomy layout needs


def n(x: float) -> str:
    return f"{x:,.0f}"


def ms(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f} ms"


def elapsed(st: DemoState) -> float:
    return time.monotonic() - (st.producing_since or st.started)


def live_view(st: DemoState, height: int = 40) -> RenderableType:
    """The whole frame. Below TALL rows it drops spacing and detail so that an 80×24
    terminal still shows every section (Live crops what does not fit)."""
    compact = height < TALL
    gap: list[RenderableType] = [] if compact else [Text()]
    parts: list[RenderableType] = [_header(st), _progress(st)]
    if st.producing_since is not None:
        parts += [_rates(st), _funnel(st), *gap, _destinations(st), *gap,
                  _examples(st, compact), *gap, _problems(st, compact)]
    parts.append(Text(_hint(st, compact), style="dim"))
    title = Text.assemble(("eventyard demo", "bold"), (" · policy ", "dim"), (_policy(st), "bold"))
    return Panel(Group(*parts), title=title, title_align="left", border_style="blue",
                 padding=(0, 1))


def _header(st: DemoState) -> Text:
    t = Text()
    t.append("tansu " if st.own_broker else "kafka ", style="dim").append(st.bootstrap or "…")
    t.append(" · metrics ", style="dim").append(st.metrics_url or "…", style="underline")
    if st.edge_url:
        t.append("\nbrowser events over HTTP via the ingest edge ", style="dim")
        t.append(st.edge_url, style="underline").append(f" ({n(st.via_edge)} acknowledged)")
    if st.metrics.stale:
        t.append("\nedit rejected (see worker log): the previous version keeps routing",
                 style="bold red")
    return t


def _policy(st: DemoState) -> str:
    version = st.policy_version or "…"
    applied = st.metrics.reloads.get("applied", 0)
    rejected = st.metrics.reloads.get("rejected", 0)
    extra = []
    if applied:
        extra.append(f"reloaded {applied}×")
    if rejected:
        extra.append(f"{rejected} edit(s) rejected")
    return version + (f" ({', '.join(extra)})" if extra else "")


def _progress(st: DemoState) -> RenderableType:
    opts = st.opts
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=34)
    grid.add_column()
    if st.producing_since is None:
        label = "stopped" if st.phase == "done" else st.phase + " …"
        grid.add_row(ProgressBar(total=None, width=34), Text(label, style="yellow"))
        return grid
    secs = elapsed(st)
    routed = st.metrics.consumed
    if opts.events:
        bar = ProgressBar(total=opts.events, completed=min(routed, opts.events), width=34)
        label = f"{n(routed)} / {n(opts.events)} events routed · {n(st.produced)} sent"
    elif opts.duration:
        bar = ProgressBar(total=opts.duration, completed=min(secs, opts.duration), width=34)
        label = f"{secs:4.0f} / {opts.duration:.0f} s · {n(routed)} events routed"
    else:
        bar = ProgressBar(total=None, width=34)
        label = f"{secs:4.0f} s · {n(routed)} events routed"
    phase = "" if st.phase == "routing" else f" · {st.phase}"
    grid.add_row(bar, Text(label + phase))
    return grid


def _rates(st: DemoState) -> Text:
    t = Text()
    t.append("in ", style="dim").append(f"{n(st.rate_in.per_second)} ev/s", style="bold")
    t.append(" · out ", style="dim").append(f"{n(st.rate_out.per_second)} rec/s", style="bold")
    lat = st.tally.latency  # last 5 s: reacts to what happens now
    t.append(" · raw→warehouse p50 ", style="dim").append(ms(lat.quantile(0.5, recent=True)))
    t.append(" p99 ", style="dim").append(ms(lat.quantile(0.99, recent=True)))
    return t


def _funnel(st: DemoState) -> Text:
    t = Text("funnel ", style="dim")
    t.append(f"{n(st.funnel.visitors)} visitors")
    for label in MILESTONES:
        t.append(" → ", style="dim").append(f"{n(st.funnel.milestones[label])} {label}")
    return t


def _destinations(st: DemoState) -> Table:
    tally = st.tally
    rates = {d: r.per_second for d, r in st.rate_dest.items()}
    return destinations_table(tally.classes, tally.destinations, rates, tally.natives)


def destinations_table(classes: Mapping[str, str], counts: Counter[str],
                       rates: Mapping[str, float],
                       natives: Mapping[str, Counter[str]] | None = None) -> Table:
    """Records and rate per destination, ads first; `natives`: top native names (the demo
    reads them off the topics; `eventyard top` has only metrics and omits the column)."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1), pad_edge=False)
    table.add_column("destination", min_width=11, no_wrap=True)
    table.add_column("records", justify="right", min_width=7, no_wrap=True)
    table.add_column("rec/s", justify="right", min_width=5, no_wrap=True)
    if natives is not None:
        table.add_column("top native names", overflow="ellipsis", no_wrap=True, max_width=60)
    order = {"ads": 0, "crm": 1, "warehouse": 2}
    busiest = sorted(counts, key=lambda d: (order.get(classes.get(d, ""), 3), -counts[d]))
    for dest in busiest:
        style = CLASS_STYLE.get(classes.get(dest, ""), "")
        row: list[RenderableType] = [Text(dest, style=style), n(counts[dest]),
                                     n(rates.get(dest, 0.0))]
        if natives is not None:
            names = natives.get(dest, Counter())
            top = [name for name, _ in names.most_common(4)]
            row.append(", ".join(top) + (", …" if len(names) > 4 else ""))
        table.add_row(*row)
    if not counts:
        table.add_row(*["…"] + [""] * (len(table.columns) - 1))
    return table


def _examples(st: DemoState, compact: bool) -> Text:
    t = Text()
    for i, (event, pairs) in enumerate(st.tally.examples(limit=1 if compact else 2)):
        if i:
            t.append("\n")
        t.append(event, style="bold").append(" → ", style="dim")
        # The busiest ad platforms, then a CRM: both kinds of renaming in one line.
        kinds = [st.tally.classes.get(d) for d, _ in pairs]
        shown = ([p for p, k in zip(pairs, kinds, strict=True) if k == "ads"][:2 if compact else 3]
                 + [p for p, k in zip(pairs, kinds, strict=True) if k == "crm"][:1])
        t.append(", ".join(f"{d}:{name}" for d, name in shown))
        if len(pairs) > len(shown):
            t.append(", …", style="dim")
    return t


def _problems(st: DemoState, compact: bool) -> Table:
    grid = Table.grid(padding=(0, 4))
    grid.add_column(min_width=36)
    grid.add_column()
    left = dead_letters_text(st.tally.dead_letters, 3 if compact else MAX_REASONS)
    right = Text()
    copies = st.funnel.duplicates
    right.append(f"duplicates caught {n(st.metrics.duplicates)}", style="bold yellow")
    right.append(f"\n  {copies['server_copy']:,} purchase copies, {copies['retry']:,} retries",
                 style="dim")
    # not_in_policy (unmapped events) dwarfs the rest and is expected; the summary has it.
    right.append("\n").append_text(skips_text(st.metrics.skipped))
    grid.add_row(left, right)
    return grid


def dead_letters_text(dl: Counter[str], shown: int) -> Text:
    t = Text()
    t.append(f"dead letters {n(sum(dl.values()))}", style="bold red")
    for reason, count in dl.most_common(shown):
        t.append(f"\n  {reason:<26}{count:>6,}")
    if len(dl) > shown:
        t.append(f"\n  … {len(dl) - shown} more reasons", style="dim")
    return t


def skips_text(skipped: Counter[str]) -> Text:
    t = Text("not sent, by policy", style="bold")
    shown = [f"{r} {skipped[r]:,}" for r in ("no_consent", "too_old", "excluded",
                                              "custom_event", "no_match_keys") if skipped.get(r)]
    t.append("\n  " + (" · ".join(shown) or "–"), style="")
    return t


def _hint(st: DemoState, compact: bool = False) -> str:
    if st.phase == "done":
        if st.error or st.aborted:
            return "failed: see below" if st.error else "aborted"
        return "finished: summary below" if st.producing_since else "stopped"
    if st.producing_since is None:
        return "traffic starts once the worker holds its partitions (a group join: ~3 s)"
    if st.phase not in ("routing", "draining"):
        return f"{st.phase} …"
    if compact:
        return "try: edit config/routing.yaml, it reloads live · Ctrl-C stops"
    return ("try: edit config/routing.yaml (rename meta's SignUp); the worker reloads it live"
            " · Ctrl-C stops")


def plain_line(st: DemoState) -> str:
    """One line of progress for logs and CI (`--no-live`)."""
    if st.producing_since is None:
        return f"[demo] {st.phase} …"
    t, m = st.tally, st.metrics
    target = f"/{n(st.opts.events)}" if st.opts.events else ""
    return (
        f"[demo {elapsed(st):5.1f}s] sent {n(st.produced)}{target} · in "
        f"{n(st.rate_in.per_second)}/s · consumed {n(m.consumed)} · routed {n(t.routed_events)} "
        f"events → ads {n(t.counts['ads'])} crm {n(t.counts['crm'])} warehouse "
        f"{n(t.counts['warehouse'])} · dlq {n(t.counts['dlq'])} · dup {n(m.duplicates)} · "
        f"p99 {ms(t.latency.quantile(0.99, recent=True))}"
    )
