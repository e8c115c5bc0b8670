"""`eventyard demo`: CLI glue. The work is in session.py, the drawing in view.py/summary.py."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
from pathlib import Path

from rich.console import Console
from rich.live import Live

from eventyard.demo import summary, view
from eventyard.demo.session import DemoSession
from eventyard.demo.state import DemoOptions, DemoState
from eventyard.errors import PolicyError
from eventyard.policy import load_policy

DEFAULT_EVENTS = 5000
DEFAULT_RATE = 1000.0
PLAIN_EVERY_S = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_mutually_exclusive_group()
    g.add_argument("--events", type=int, default=None, metavar="N",
                   help=f"send N events, then summarise (default {DEFAULT_EVENTS})")
    g.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                   help="send traffic for this long instead of a fixed count")
    g.add_argument("--forever", action="store_true", help="send traffic until Ctrl-C")
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, metavar="EV/S",
                        help=f"events per second (default {DEFAULT_RATE:.0f})")
    parser.add_argument("--seed", type=int, default=7, help="traffic seed (default 7)")
    parser.add_argument("--policy", type=Path, default=None,
                        help="routing policy (default: EVENTYARD_POLICY_PATH, else "
                        "config/routing.yaml); edit it while the demo runs")
    parser.add_argument("--bootstrap-servers", default=None, metavar="HOST:PORT",
                        help="use this Kafka instead of starting a local Tansu broker; "
                        "topic names come from EVENTYARD_TOPIC_* (use fresh ones)")
    parser.add_argument("--no-live", action="store_true",
                        help="plain progress lines instead of the live view (CI, logs)")
    parser.add_argument("--summary-json", type=Path, default=None, metavar="PATH",
                        help="also write the summary's figures as JSON")
    parser.add_argument("--logs", type=Path, default=None, metavar="DIR",
                        help="where the broker and worker logs go (default: a temp dir)")


def default_policy() -> Path:
    env = os.environ.get("EVENTYARD_POLICY_PATH")
    if env:
        return Path(env)
    here = Path("config/routing.yaml")
    if here.exists():
        return here
    # An editable install run from elsewhere: the repository's own policy.
    return Path(__file__).resolve().parents[3] / "config" / "routing.yaml"


def run(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    if not console.is_terminal:  # logs and CI: 80 columns would wrap every table row
        console = Console(highlight=False, width=120)
    # Absolute, so the worker watches the very file the user edits, whatever its cwd.
    policy = (args.policy or default_policy()).resolve()
    try:
        version = load_policy(policy).version
    except (PolicyError, OSError) as exc:
        console.print(f"error: policy {policy} cannot be used:\n{exc}", markup=False)
        return 2
    if args.rate <= 0 or any(v is not None and v <= 0 for v in (args.events, args.duration)):
        console.print("error: --rate, --events and --duration must be positive", markup=False)
        return 2
    bounded = not (args.duration or args.forever)
    opts = DemoOptions(
        events=(args.events or DEFAULT_EVENTS) if bounded else None,
        duration=args.duration,
        rate=args.rate,
        seed=args.seed,
        policy=policy,
        bootstrap=args.bootstrap_servers,
        workdir=args.logs,
    )
    session = DemoSession(opts, policy_version=version)
    if not args.no_live and console.is_terminal:
        state = _run_live(console, session)
    else:
        state = _run_plain(console, session)
    if args.logs is None and summary.ok(state):
        shutil.rmtree(state.workdir, ignore_errors=True)  # kept only when there is a problem
    if args.summary_json is not None:
        summary.write_json(state, args.summary_json)
    if state.error is None and (state.producing_since is None or state.aborted):
        console.print("stopped before traffic started; nothing to summarise"
                      if state.producing_since is None else
                      "aborted by a second Ctrl-C: the worker was stopped without draining, "
                      f"so there are no totals to check (logs: {state.workdir})")
        return 130
    summary.print_summary(console, state)
    return 0 if summary.ok(state) else 1


def _run_live(console: Console, session: DemoSession) -> DemoState:
    with Live(console=console, auto_refresh=False, transient=False) as live:
        def draw(st: DemoState) -> None:
            live.update(view.live_view(st, console.size.height), refresh=True)

        state = asyncio.run(session.run(draw, refresh_s=0.25))
        draw(state)
    return state


def _run_plain(console: Console, session: DemoSession) -> DemoState:
    last_phase = ""

    def draw(st: DemoState) -> None:
        nonlocal last_phase
        if st.phase != "routing" and st.phase == last_phase:
            return  # a phase is announced once; routing repeats as progress
        last_phase = st.phase
        console.print(view.plain_line(st), markup=False, soft_wrap=True)

    return asyncio.run(session.run(draw, refresh_s=PLAIN_EVERY_S))
