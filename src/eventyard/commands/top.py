"""`eventyard top URL…`: a live view of running workers, from their /metrics endpoints
(host:port or a full URL each). Ctrl-C stops; --once prints one frame and exits, 1 when
no worker answers."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from rich.console import Console
from rich.live import Live

from eventyard.ops.top import TopState, top_view


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("urls", nargs="+", metavar="URL",
                        help="a worker's metrics address, e.g. 127.0.0.1:9108")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between scrapes")
    parser.add_argument("--once", action="store_true",
                        help="scrape twice (--interval apart, for rates), print, exit")


async def _once(st: TopState, interval: float, console: Console) -> int:
    await st.refresh()
    await asyncio.sleep(interval)
    await st.refresh()
    console.print(top_view(st))
    return 0 if any(w.metrics is not None for w in st.workers) else 1


async def _live(st: TopState, interval: float, console: Console) -> int:
    with Live(console=console, auto_refresh=False) as live:
        while True:
            await st.refresh()
            live.update(top_view(st), refresh=True)
            await asyncio.sleep(interval)


def run(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=120)
    st = TopState.of(args.urls)
    if args.once or not console.is_terminal:
        return asyncio.run(_once(st, args.interval, console))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_live(st, args.interval, console))
    return 0
