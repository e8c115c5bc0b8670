"""Read a policy file as a hostile path: only a regular file, at most `max_bytes`, within
`timeout_s`.

The policy path is watched and re-read while the worker runs, and whoever can write its
directory can put anything there. A FIFO blocks `open()`/`read()` forever (the watcher
hung and SIGTERM could not stop the worker), a device never ends (`/dev/zero`), a
directory cannot be read, and a hung network mount can block a read without limit. So
the file is opened non-blocking, checked with fstat to be a regular file of at most
`max_bytes`, and read in a daemon thread the caller waits for at most `timeout_s`: a stuck
read is abandoned, never waited out, and never keeps the process from exiting.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from eventyard.errors import UnreadableFile

__all__ = ["MAX_POLICY_BYTES", "READ_TIMEOUT_S", "UnreadableFile", "read_regular_file"]

MAX_POLICY_BYTES = 1024 * 1024  # the shipped policy is ~6 KiB
READ_TIMEOUT_S = 5.0


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _read(path: Path, max_bytes: int) -> bytes:
    try:
        # stat first: opening some devices has side effects; fstat after: the path may be
        # swapped between the two.
        before = os.stat(path)
        if not stat.S_ISREG(before.st_mode):
            raise UnreadableFile(f"{_kind(before.st_mode)}, not a regular file")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise UnreadableFile("no such file") from None
    except OSError as exc:
        raise UnreadableFile(str(exc.strerror)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableFile(f"{_kind(st.st_mode)}, not a regular file")
        if st.st_size > max_bytes:
            raise UnreadableFile(f"{st.st_size} bytes, over the {max_bytes}-byte limit")
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, min(65536, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:  # grew after the fstat
            raise UnreadableFile(f"over the {max_bytes}-byte limit")
        return b"".join(chunks)
    except OSError as exc:
        raise UnreadableFile(str(exc.strerror)) from None
    finally:
        os.close(fd)


def read_regular_file(
    path: str | Path, max_bytes: int = MAX_POLICY_BYTES, timeout_s: float | None = None
) -> bytes:
    """The file's bytes, or UnreadableFile naming why not (timeout: READ_TIMEOUT_S)."""
    timeout_s = READ_TIMEOUT_S if timeout_s is None else timeout_s
    result: list[bytes] = []
    error: list[BaseException] = []

    def work() -> None:
        try:
            result.append(_read(Path(path), max_bytes))
        except BaseException as exc:  # handed to the caller's thread
            error.append(exc)

    reader = threading.Thread(target=work, name="policy-read", daemon=True)
    reader.start()
    reader.join(timeout_s)
    if reader.is_alive():
        raise UnreadableFile(f"reading took longer than {timeout_s:.0f}s")
    if error:
        raise error[0]
    return result[0]
