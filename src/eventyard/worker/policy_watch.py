"""Live reload of the routing policy file (DESIGN.md §5 "Reload").

Watch the file's DIRECTORY, never the file: editors save by writing a temp file and renaming
it over the policy, and Kubernetes updates a ConfigMap volume by atomically repointing the
`..data` symlink. Both replace the inode, and an inotify watch on the old inode goes silent
for good. Directory events are filtered to the policy path and every symlink on the way from
it to the real file.

A content-hash poll backs the watch up, because inotify misses changes on some filesystems
(NFS and other network mounts written from another host, some FUSE and overlay setups), the
watch can fail to start (inotify watch limit), and a symlink into another directory changes
without any event here.

Every attempt uses the loader `check-policy` uses, so a file that lints clean is exactly a
file the worker accepts. Compiling runs off the event loop (asyncio.to_thread) so a reload
never stalls the routing loop. An attempt ends as one ReloadResult: applied (swapped into the
PolicyHolder in one assignment, so it takes effect between batches), rejected (the previous
policy keeps routing; every problem is logged as FILE:LINE: PATH: message), or unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from watchfiles import awatch

from eventyard.errors import PolicyError, PolicyProblem
from eventyard.policy import CompiledPolicy, load_policy, policy_version
from eventyard.policy.diff import diff_policies
from eventyard.policy.readfile import UnreadableFile, read_regular_file
from eventyard.telemetry import Telemetry
from eventyard.worker.policy_holder import PolicyHolder

__all__ = ["PolicyWatcher", "ReloadResult"]

log = logging.getLogger(__name__)

Loader = Callable[[Path], CompiledPolicy]
Outcome = Literal["applied", "rejected", "unchanged"]

# Editors and kubelet touch the directory several times per save; wait for this much quiet
# before reading, so one save is one attempt and a file is not read mid-write.
DEFAULT_DEBOUNCE_MS = 150
DEFAULT_POLL_INTERVAL_S = 3.0
# A file changing under the loader is re-read at most this many times per attempt.
_MAX_READS = 3
_MAX_SYMLINK_HOPS = 40  # as the kernel's ELOOP limit


@dataclass(frozen=True, slots=True)
class ReloadResult:
    result: Outcome
    version: str  # the version routing after this attempt
    previous: str | None = None  # applied only: the version it replaced
    problems: tuple[PolicyProblem, ...] = ()


@dataclass(frozen=True, slots=True)
class _Attempt:
    fingerprint: str  # content hash of what was judged, or "unreadable"
    policy: CompiledPolicy | None
    problems: tuple[PolicyProblem, ...] = ()


UNREADABLE = "unreadable"


def _read(path: Path) -> tuple[str, str | None]:
    """(content hash, None), or (UNREADABLE, why): only a regular file of bounded size,
    read within a bounded time (policy/readfile.py), so a FIFO or a hung mount at the
    path can neither block the watcher nor keep the worker from stopping."""
    try:
        return policy_version(read_regular_file(path)), None
    except UnreadableFile as exc:
        return UNREADABLE, str(exc)


def _fingerprint(path: Path) -> str:
    return _read(path)[0]


def symlink_chain(path: Path) -> set[str]:
    """`path`, every symlink met while resolving it, and the file it finally names.

    Resolution starts in the path's own (lexical) directory, so the names match what the
    directory watch reports: for a ConfigMap, {dir/policy.yaml, dir/..data,
    dir/..2026_v1/policy.yaml}.
    """
    chain = {os.path.normpath(path)}
    current = path.parent
    parts: deque[str] = deque([path.name])
    hops = 0
    while parts:
        part = parts.popleft()
        if part in ("", "."):
            continue
        if part == "..":
            current = current.parent
            continue
        candidate = current / part
        if hops < _MAX_SYMLINK_HOPS and candidate.is_symlink():
            hops += 1
            chain.add(os.path.normpath(candidate))
            try:
                target = Path(os.readlink(candidate))
            except OSError:
                break
            if target.is_absolute():
                current = Path(target.anchor)
                parts.extendleft(reversed(target.parts[1:]))
            else:
                parts.extendleft(reversed(target.parts))
            continue
        current = candidate
    chain.add(os.path.normpath(current))
    return chain


class PolicyWatcher:
    """Keeps `holder` on the newest valid version of the policy file at `path`."""

    def __init__(
        self,
        path: str | Path,
        holder: PolicyHolder,
        telemetry: Telemetry,
        *,
        loader: Loader = load_policy,
        debounce_ms: int = DEFAULT_DEBOUNCE_MS,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
    ) -> None:
        # Lexical absolute path: resolving it would follow the very symlinks that change.
        self.path = Path(os.path.abspath(path))
        self.holder = holder
        self.telemetry = telemetry
        self.loader = loader
        self.debounce_ms = debounce_ms
        self.poll_interval_s = poll_interval_s
        # Content last judged; the poll acts only when the file differs from it, so a bad
        # file is reported once, not once per poll.
        self._seen = holder.current.version
        self._last_error: PolicyError | None = None
        # The last refused attempt, so the same bytes are not parsed and reported again.
        self._judged: _Attempt | None = None
        self._lock = asyncio.Lock()

    # --- state for /healthz-style reporting -----------------------------------------------

    @property
    def last_error(self) -> PolicyError | None:
        """Why the file on disk is refused, while it is; None once a version is in sync."""
        return self._last_error

    @property
    def stale(self) -> bool:
        return self._last_error is not None

    def status(self) -> str:
        version = self.holder.current.version
        if self._last_error is None:
            return f"policy {version}"
        problems = self._last_error.problems
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        first = problems[0].render() if problems else "unknown error"
        return f"policy {version} (stale: file rejected: {first}{more})"

    # --- checking -------------------------------------------------------------------------

    def check_now(self) -> ReloadResult:
        """One synchronous attempt (tests; callers without a loop). Not concurrently with
        `run()`, which serialises its own attempts."""
        return self._settle(self._attempt())

    def _attempt(self) -> _Attempt:
        # Blocking: file reads and compiling. Runs in a worker thread under run().
        for _ in range(_MAX_READS):
            before, unreadable = _read(self.path)
            if before == self.holder.current.version:
                return _Attempt(before, self.holder.current)
            if unreadable is not None:
                problem = PolicyProblem(
                    str(self.path), 1, "", f"cannot read the file: {unreadable}",
                    "unreadable_file",
                )
                return _Attempt(UNREADABLE, None, (problem,))
            refused = self._judged
            if refused is not None and refused.fingerprint == before:
                # This content was refused already (the watch and the poll both saw one
                # save): parse each bad save once.
                return refused
            try:
                policy: CompiledPolicy | None = self.loader(self.path)
                problems: tuple[PolicyProblem, ...] = ()
            except PolicyError as exc:
                policy, problems = None, tuple(exc.problems)
            except Exception as exc:  # a loader bug must not kill the watcher
                policy = None
                problems = (PolicyProblem(str(self.path), 1, "", f"loader failed: "
                                          f"{type(exc).__name__}", "reload_failed"),)
            after = _fingerprint(self.path)
            judged = policy.version if policy is not None else before
            # Judge only bytes still on disk: a file that changed while it was read is
            # mid-write, so read it again.
            if judged == after:
                return _Attempt(after, policy, problems)
        # Never apply bytes that are no longer on disk. "changing" matches no content hash,
        # so the next poll tries again.
        problem = PolicyProblem(str(self.path), 1, "", "the file kept changing while it was read",
                                "reload_failed")
        return _Attempt("changing", None, (problem,))

    def _settle(self, attempt: _Attempt) -> ReloadResult:
        # Event-loop side: swap, metrics and logs happen in one place, never in a thread.
        self._seen = attempt.fingerprint
        current = self.holder.current
        t = self.telemetry
        if attempt.policy is None and attempt is self._judged:
            # Refused and reported already; count and log it once.
            return ReloadResult("rejected", current.version, problems=attempt.problems)
        self._judged = attempt if attempt.policy is None else None
        if attempt.policy is None:
            self._last_error = PolicyError(list(attempt.problems))
            t.policy_reloads.labels(result="rejected").inc()
            t.policy_stale.set(1)
            log.warning(
                "policy %s rejected with %d problem(s); version %s keeps routing",
                self.path, len(attempt.problems), current.version,
            )
            for problem in attempt.problems:
                log.warning("%s", problem.render())
            return ReloadResult("rejected", current.version, problems=attempt.problems)
        new = attempt.policy
        if new.version == current.version:
            t.policy_reloads.labels(result="unchanged").inc()
            if self._last_error is not None:
                log.info("policy %s is back to the running version %s", self.path, new.version)
            self._clear_stale()
            return ReloadResult("unchanged", current.version)
        previous = self.holder.swap(new)
        t.policy_reloads.labels(result="applied").inc()
        t.set_policy_version(new.version)
        self._clear_stale()
        # What changed, not the whole policy: ops compare it with `eventyard diff-policy`.
        log.info("policy reloaded %s -> %s: %s", previous.version, new.version,
                 diff_policies(previous, new).log_text())
        for warning in new.warnings:  # what check-policy warns about, e.g. enabled: false
            log.warning("%s", warning.render())
        return ReloadResult("applied", new.version, previous=previous.version)

    def _clear_stale(self) -> None:
        self._last_error = None
        self.telemetry.policy_stale.set(0)

    async def check(self, *, settle: bool = False) -> ReloadResult:
        """One attempt off the event loop; `settle` first waits out a write in progress."""
        async with self._lock:
            if settle:
                await asyncio.sleep(self.debounce_ms / 1000)
            attempt = await asyncio.to_thread(self._attempt)
            return self._settle(attempt)

    # --- running --------------------------------------------------------------------------

    async def run(self) -> None:
        """Watch and poll until cancelled."""
        stop = asyncio.Event()
        watch = asyncio.create_task(self._watch(stop), name="policy-watch")
        try:
            await self._poll()
        finally:
            # watchfiles blocks a thread that checks `stop`; set it or the thread lingers.
            stop.set()
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)

    async def _poll(self) -> None:
        while True:
            # Also the first thing run() does: closes the gap between the worker's start-up
            # load and the watch being armed.
            if await asyncio.to_thread(_fingerprint, self.path) != self._seen:
                await self.check(settle=True)
            await asyncio.sleep(self.poll_interval_s)

    async def _watch(self, stop: asyncio.Event) -> None:
        directory = self.path.parent
        while not stop.is_set():
            try:
                async for changes in awatch(
                    directory,
                    watch_filter=None,  # our own filter below; the default drops dotfiles
                    recursive=False,
                    step=self.debounce_ms,  # yield only after this much quiet
                    stop_event=stop,
                ):
                    if self._relevant(changes):
                        await self.check()
            except Exception as exc:  # e.g. a missing directory or the inotify limit
                log.warning(
                    "cannot watch %s (%s); polling every %.0fs instead",
                    directory, type(exc).__name__, self.poll_interval_s,
                )
            await asyncio.sleep(self.poll_interval_s)

    def _relevant(self, changes: Iterable[tuple[object, str]]) -> bool:
        chain = symlink_chain(self.path)
        return any(os.path.normpath(changed) in chain for _, changed in changes)
