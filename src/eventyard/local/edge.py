"""Run the ingest edge locally as a subprocess (`eventyard ingest`): shared by the
integration tests, the demo and the bench, like harness.WorkerProcess for workers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from eventyard.commands.ingest import LISTENING
from eventyard.local.child import ChildProcess

READY_TIMEOUT_S = 30.0


@dataclass
class EdgeProcess(ChildProcess):
    env: dict[str, str]  # EVENTYARD_* of the broker and topics, plus EVENTYARD_INGEST_*
    log_path: Path
    port: int
    cwd: Path = Path(".")
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> EdgeProcess:
        env = {**os.environ, **self.env, "EVENTYARD_INGEST_HOST": "127.0.0.1",
               "EVENTYARD_INGEST_PORT": str(self.port)}
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "eventyard.cli", "ingest"],
                env=env, stdout=out, stderr=subprocess.STDOUT, cwd=self.cwd,
            )
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Until this process says it holds its port, and answers /healthz with 200. The
        line matters: a port picked free can be taken meanwhile by another process, whose
        /healthz would otherwise pass for this one's."""
        deadline = time.monotonic() + timeout
        line = f"{LISTENING} http://127.0.0.1:{self.port} "
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise AssertionError(f"ingest edge exited:\n{self.log()[-3000:]}")
            if line not in self.log():
                time.sleep(0.1)
                continue
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise AssertionError(f"ingest edge not ready:\n{self.log()[-3000:]}")
