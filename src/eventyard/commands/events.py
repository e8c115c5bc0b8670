"""`eventyard events [--json] [--stage STAGE]`: the canonical events, with stage, required
fields and whether ads get them only when named."""

from __future__ import annotations

import argparse
import sys

import orjson

from eventyard.taxonomy import STAGES
from eventyard.taxonomy.listing import ALWAYS_REQUIRED, as_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="a JSON array on stdout")
    parser.add_argument("--stage", choices=STAGES, help="only the events of one stage")


def run(args: argparse.Namespace) -> int:
    rows = [e for e in as_json() if args.stage in (None, e["stage"])]
    if args.json:
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{len(rows)} canonical events",
        caption=f"every event also needs {', '.join(ALWAYS_REQUIRED)}",
    )
    for col in ("event", "stage", "requires", "protected"):
        table.add_column(col, no_wrap=True)
    table.add_column("description")
    for e in rows:
        table.add_row(e["name"], e["stage"], ", ".join(e["requires"]),
                      "yes" if e["adsProtected"] else "", e["description"])
    Console().print(table)
    return 0
