"""The demo's child processes: spawned deaf to the terminal's Ctrl-C, described on exit."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

from eventyard.local.harness import WorkerProcess


@contextlib.contextmanager
def sigint_blocked() -> Iterator[None]:
    """Children inherit the signal mask across exec: spawned inside this block they never
    see the terminal's Ctrl-C, and are stopped by PID instead, in the right order."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def returncode(worker: WorkerProcess) -> str:
    code = None if worker.proc is None else worker.proc.poll()
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"{code} ({signal.Signals(-code).name})"
    return str(code)
