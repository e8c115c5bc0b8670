"""A throwaway Postgres server for tests and the bench: Debian's `postgresql` package,
a temporary data directory, a free loopback port, stopped by its own PID.

Postgres refuses to run as root; as root the server runs as the `postgres` system user
the package creates (via runuser), with the data directory handed to it.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from eventyard.errors import PostgresUnavailable
from eventyard.local.broker import free_port


def server_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresUnavailable(
        "no Postgres server found: install Debian's `postgresql` package (make test does)"
    )


class LocalPostgres:
    def __init__(self) -> None:
        self.bindir = server_bindir()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="eventyard-pg-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_owner(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv

    def start(self) -> LocalPostgres:
        data = self.dir / "data"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        subprocess.run(
            self._as_owner([str(self.bindir / "initdb"), "-D", str(data), "-U", "postgres",
                            "--auth=trust", "--no-sync", "-E", "UTF8"]),
            check=True, capture_output=True,
        )
        log = open(self.dir / "server.log", "ab")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(
            self._as_owner([str(self.bindir / "postgres"), "-D", str(data), "-p", str(self.port),
                            "-k", str(self.dir), "-c", "listen_addresses=127.0.0.1",
                            "-c", "fsync=off", "-c", "synchronous_commit=off"]),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise PostgresUnavailable(f"postgres exited: {self.log_tail()}")
            ready = subprocess.run([str(self.bindir / "pg_isready"), "-h", "127.0.0.1",
                                    "-p", str(self.port)], capture_output=True, check=False)
            if ready.returncode == 0:
                return self
            time.sleep(0.1)
        self.stop()
        raise PostgresUnavailable(f"postgres did not accept connections: {self.log_tail()}")

    def log_tail(self) -> str:
        path = self.dir / "server.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
