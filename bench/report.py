"""bench/results.json → the "Last run" sections of bench/README.md and README.md.

    python -m bench.report            # print both sections
    python -m bench.report --write    # rewrite them in place (make bench does this)

Each section sits between `<!-- bench:NAME:begin -->` and `<!-- bench:NAME:end -->`
markers; a unit test checks that the checked-in text is what this renders, so the docs
always show the figures of the results.json next to them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
BENCH_README = HERE / "README.md"
README = HERE.parent / "README.md"


def _n(x: float) -> str:
    return f"{x:,.0f}"


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _verdict(t: dict[str, Any]) -> str:
    return "met" if t["met"] else "missed"


def _target_value(t: dict[str, Any]) -> str:
    label, v = t["target"], t["value"]
    if "×" in label:
        return f"{v:.2f}×"
    if "ms" in label:
        return f"{v:.0f} ms"
    if "bytes" in label:
        return f"{v:.0f} B"
    return f"{v:.2f}"


def targets(r: dict[str, Any]) -> str:
    """The short section README.md shows: each target against the last run."""
    lines = [_row("target", "last run", ""), _row("---", "---", "---")]
    lines += [_row(t["target"], _target_value(t), _verdict(t)) for t in r["targets"]]
    return "\n".join(lines)


def _throughput(r: dict[str, Any]) -> list[str]:
    tp = r["throughput"]
    runs = tp["runs"]
    lines = [
        _row("throughput (events in/s)", "median", "min – max", "CPU µs/event", "× floor"),
        _row("---", "---:", "---:", "---:", "---:"),
    ]
    for label, key in (
        ("floor: bare aiokafka, full output volume, batch produce", "floor_full"),
        ("floor: outputs only, batch produce", "floor_outputs"),
        ("floor: full volume, one `send()` per record", "floor_full_send"),
        ("eventyard, 1 worker", "worker"),
        ("eventyard, 2 workers in one group", "two_workers"),
    ):
        s = runs[key]
        lines.append(_row(label, _n(s["median"]), f"{_n(s['min'])} – {_n(s['max'])}",
                          f"{s['cpu_us_per_event']:.0f}", f"{s['median'] / tp['floor_eps']:.2f}"))
    lines += [
        "",
        f"Paired per repeat (median): 1 worker / floor {tp['ratio_paired']:.2f}, "
        f"2 workers / 1 worker {tp['scaleout_paired']:.2f}; 1 worker / outputs-only floor "
        f"{tp['ratio_vs_outputs_only']:.2f}.",
    ]
    return lines


def _latency(r: dict[str, Any]) -> list[str]:
    lat = r["latency_ms"]
    lines = [
        f"Latency, raw CreateTime → warehouse CreateTime, one worker at "
        f"{_n(lat['offered_eps'])} events/s (50% of its median throughput), "
        f"{_n(lat['samples'])} events after warm-up:",
        "",
        _row("ms", "p50", "p95", "p99", "max", "first 4 s p50 / p99", "last 4 s p50 / p99"),
        _row("---", "---:", "---:", "---:", "---:", "---:", "---:"),
    ]
    for label, d in (("eventyard", lat), ("bare aiokafka echo", lat.get("floor"))):
        if d:
            lines.append(_row(label, *(f"{d[k]:.0f}" for k in ("p50", "p95", "p99", "max")),
                              f"{d['first_p50']:.0f} / {d['first_p99']:.0f}",
                              f"{d['last_p50']:.0f} / {d['last_p99']:.0f}"))
    floor = lat.get("floor")
    if floor and floor["p99"] > 0:
        lines += ["", f"The worker's p99 is {lat['p99'] / floor['p99']:.2f}× the bare echo's "
                  "p99, measured at the same load in the same run."]
    lines += ["", f"The worker's mean latency is {lat['mean']:.1f} ms, of which "
              f"{lat['fetch_wait_mean']:.1f} ms pass before it has fetched the record "
              "(`eventyard_fetch_wait_seconds`)."]
    drift = r.get("broker_drift")
    if drift:
        parts = [f"{d['records_per_batch']}-record batches {d['fetch_p50_first_ms']:.1f} → "
                 f"{d['fetch_p50_last_ms']:.1f} ms" for d in drift["runs"]]
        lines.append(f"The broker alone (bare clients, {_n(drift['records_per_s'])} records/s, "
                     f"`make bench-broker`), fetch p50 from the first to the last second: "
                     + "; ".join(parts) + ".")
    return lines


def _core_and_memory(r: dict[str, Any]) -> list[str]:
    core, mem = r["core"], r["dedup"]
    return [
        _row("pure core, per event", "µs", "× orjson decode"),
        _row("---", "---:", "---:"),
        _row("orjson decode (the floor)", f"{core['floor_us']:.2f}", "1.0"),
        _row("decode + validate", f"{core['validate_us']:.2f}", f"{core['validate_ratio']:.1f}"),
        _row("full core, warm caches", f"{core['core_us']:.2f}", f"{core['ratio']:.1f}"),
        _row("full core, each event once", f"{core['single_pass_us']:.2f}",
             f"{core['single_pass_us'] / core['floor_us']:.1f}"),
        "",
        f"Dedup store: {mem['bytes_per_id']:.0f} bytes per held eventId "
        f"({_n(mem['ids'])} ids, {mem['rss_delta_mib']:.0f} MiB); a lookup of a new id with "
        f"the whole window held takes {mem['miss_lookup_us']:.1f} µs. Worker RSS after a run "
        f"holding {_n(mem['worker_ids_held'])} ids: {mem['worker_rss_mib']:.0f} MiB, "
        f"projected at 1M ids: {mem['worker_rss_at_1m_ids_mib']:.0f} MiB.",
    ]


def last_run(r: dict[str, Any]) -> str:
    """The section bench/README.md shows: every figure of the last `make bench`."""
    inp = r["input"]
    head = [
        f"{_n(r['events'])} events, {r['partitions']} partitions, median of {r['repeats']} "
        f"runs, {r['bench_seconds'] / 60:.0f} minutes in all. Machine: {r['machine']}; "
        f"broker: {r['broker']}. Input: {_n(inp['valid'])} valid events "
        f"({_n(inp['duplicates'])} duplicates) and {_n(inp['invalid'])} invalid → "
        f"{_n(inp['ads'])} ads, {_n(inp['crm'])} crm and {_n(inp['warehouse'])} warehouse "
        "records.",
        "",
    ]
    return "\n".join([*head, targets(r), "", *_throughput(r), "", *_latency(r), "",
                      *_core_and_memory(r)])


SECTIONS = {"targets": (README, targets), "last-run": (BENCH_README, last_run)}


def _marked(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- bench:{name}:begin -->\n)(.*?)(<!-- bench:{name}:end -->)",
                      re.DOTALL)


def checked_in(name: str) -> str:
    """The section `name` as it stands in its file (without the markers)."""
    path, _ = SECTIONS[name]
    m = _marked(name).search(path.read_text("utf-8"))
    if m is None:
        raise LookupError(f"{path.name}: no <!-- bench:{name}:begin/end --> markers")
    return m.group(2)


def rendered(name: str, r: dict[str, Any]) -> str:
    return SECTIONS[name][1](r) + "\n"


def load(path: Path = RESULTS) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def write(r: dict[str, Any]) -> None:
    for name, (path, _) in SECTIONS.items():
        text = path.read_text("utf-8")
        checked_in(name)  # fail on missing markers before touching anything
        m = _marked(name).search(text)
        assert m is not None
        new = text[: m.start(2)] + rendered(name, r) + text[m.end(2) :]
        path.write_text(new, "utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--write", action="store_true",
                        help="rewrite the sections in README.md and bench/README.md")
    args = parser.parse_args(argv)
    r = load(args.results)
    if args.write:
        write(r)
        return 0
    for name in SECTIONS:
        print(rendered(name, r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
