"""What the local runners of eventyard CLI processes (harness.WorkerProcess for workers and
signals processors, edge.EdgeProcess for the ingest edge) share: the child process and its
log file."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path


class ChildProcess:
    """Mixin: the runner sets `proc` when it starts the process, which writes `log_path`."""

    proc: subprocess.Popen[bytes] | None
    log_path: Path

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM (graceful) and wait for the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
