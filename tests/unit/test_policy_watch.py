"""PolicyWatcher against real files in tmp_path (no broker): every kind of bad edit is
refused with the old policy still routing, every way of writing a file is picked up by the
watch loop, and a fix after a rejection recovers. Waits are bounded polls, never sleeps."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from eventyard.policy import CompiledPolicy, load_policy, policy_version
from eventyard.telemetry import Telemetry
from eventyard.worker import policy_watch
from eventyard.worker.policy_holder import PolicyHolder
from eventyard.worker.policy_watch import PolicyWatcher, symlink_chain

V1 = """\
version: 1
destinations:
  meta:
    class: ads
    pii: sha256
    events:
      SignUp: CompleteRegistration
  warehouse:
    class: warehouse
    pii: raw
    events: all
"""
V2 = V1.replace("      SignUp: CompleteRegistration\n",
                "      SignUp: CompleteRegistration\n      Purchase: Purchase\n")
V3 = V2.replace("pii: raw", "pii: drop")
V1_VERSION = policy_version(V1.encode())
V2_VERSION = policy_version(V2.encode())
V3_VERSION = policy_version(V3.encode())
WAIT_S = 5.0


async def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


class Rig:
    """A policy file, the holder the hot path reads, fresh metrics, and the watcher."""

    def __init__(self, path: Path, **kwargs: Any) -> None:
        self.path = path
        self.telemetry = Telemetry()
        initial = load_policy(path)
        self.initial: CompiledPolicy = initial
        self.holder = PolicyHolder(initial)
        self.telemetry.set_policy_version(initial.version)
        # A long poll interval: the async tests must prove the *watch* picks changes up.
        kwargs.setdefault("poll_interval_s", 60.0)
        kwargs.setdefault("debounce_ms", 50)
        self.watcher = PolicyWatcher(path, self.holder, self.telemetry, **kwargs)

    def reloads(self, result: str) -> float:
        value = self.telemetry.registry.get_sample_value(
            "eventyard_policy_reloads_total", {"result": result}
        )
        return value or 0.0

    @property
    def stale(self) -> float | None:
        return self.telemetry.registry.get_sample_value("eventyard_policy_stale")

    def info(self, version: str) -> float | None:
        return self.telemetry.registry.get_sample_value(
            "eventyard_policy_info", {"version": version}
        )

    def assert_still_v1(self) -> None:
        assert self.holder.current is self.initial
        assert self.info(V1_VERSION) == 1
        assert self.info(V2_VERSION) is None
        assert self.reloads("applied") == 0

    def assert_now_v2(self) -> None:
        assert self.holder.current.version == V2_VERSION
        assert self.info(V2_VERSION) == 1
        assert self.info(V1_VERSION) is None
        assert self.stale == 0
        assert self.watcher.last_error is None


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    path = tmp_path / "routing.yaml"
    path.write_text(V1)
    return Rig(path)


@contextlib.asynccontextmanager
async def running(rig: Rig) -> AsyncIterator[None]:
    task = asyncio.create_task(rig.watcher.run())
    try:
        await armed(rig)
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def armed(rig: Rig) -> None:
    """Wait until the directory watch reports changes: touch the policy (same bytes) until
    an 'unchanged' attempt shows up. Writing before the watch is armed would test the poll."""
    deadline = time.monotonic() + WAIT_S
    while rig.reloads("unchanged") == 0:
        assert time.monotonic() < deadline, "the directory watch never reported a change"
        os.utime(rig.path, follow_symlinks=False)
        with contextlib.suppress(AssertionError):
            await wait_for(lambda: rig.reloads("unchanged") > 0, "armed", timeout=0.25)


# --- bad edits are refused (synchronous check_now) --------------------------------------------


def _truncate_mid_token(path: Path) -> None:
    path.write_text(V2[: V2.index("pii: sha256") + len("pii: sha")])


def _truncate_at_line(path: Path) -> None:
    path.write_text(V2[: V2.index("    pii: sha256")])


BAD_EDITS: dict[str, Callable[[Path], object]] = {
    "yaml_syntax_error": lambda p: p.write_text("version: 1\ndestinations: [meta\n"),
    "unknown_event": lambda p: p.write_text(V1.replace("SignUp:", "SignUpp:")),
    "ads_with_raw_pii": lambda p: p.write_text(V1.replace("pii: sha256", "pii: raw")),
    "empty_file": lambda p: p.write_text(""),
    "deleted_file": lambda p: p.unlink(),
    "not_utf8": lambda p: p.write_bytes(V1.encode() + b"# \xff\xfe\n"),
    "half_written_mid_token": _truncate_mid_token,
    "half_written_at_line_end": _truncate_at_line,
}
EXPECTED_MESSAGE = {
    "yaml_syntax_error": "YAML syntax error",
    "unknown_event": "unknown canonical event; did you mean SignUp?",
    "ads_with_raw_pii": "ads destinations take pii: sha256, not raw",
    "empty_file": "the policy file is empty",
    "deleted_file": "cannot read the file",
    "not_utf8": "not UTF-8",
    "half_written_mid_token": "destinations.meta.pii",
    "half_written_at_line_end": "destinations.meta",
}


@pytest.mark.parametrize("edit", list(BAD_EDITS))
def test_bad_edit_is_refused_and_the_old_policy_keeps_routing(
    rig: Rig, edit: str, caplog: pytest.LogCaptureFixture
) -> None:
    BAD_EDITS[edit](rig.path)
    with caplog.at_level(logging.WARNING, logger="eventyard.worker.policy_watch"):
        result = rig.watcher.check_now()

    assert result.result == "rejected"
    assert result.version == V1_VERSION
    rig.assert_still_v1()
    assert rig.reloads("rejected") == 1
    assert rig.stale == 1
    assert rig.watcher.stale and rig.watcher.last_error is not None
    rendered = [p.render() for p in result.problems]
    assert any(EXPECTED_MESSAGE[edit] in r for r in rendered), rendered
    # Every problem is logged as FILE:LINE: PATH: message, at WARNING.
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for line in rendered:
        assert line in logged
        assert line.startswith(f"{rig.path}:")
    assert any("version " + V1_VERSION + " keeps routing" in m for m in logged)
    assert "stale: file rejected" in rig.watcher.status()


def test_valid_edit_applies_and_logs_old_to_new(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.path.write_text(V2)
    with caplog.at_level(logging.INFO, logger="eventyard.worker.policy_watch"):
        result = rig.watcher.check_now()
    assert (result.result, result.previous, result.version) == ("applied", V1_VERSION, V2_VERSION)
    rig.assert_now_v2()
    assert f"policy reloaded {V1_VERSION} -> {V2_VERSION}" in caplog.text
    # What changed, not the whole policy (policy/diff.py): meta gained Purchase.
    assert "0 rule change(s), 1 route(s) gained, 0 lost, 0 renamed" in caplog.text
    assert "Purchase → meta: + Purchase (was not_in_policy)" in caplog.text


def test_same_content_is_unchanged(rig: Rig) -> None:
    rig.path.write_text(V1)  # a save without edits
    assert rig.watcher.check_now().result == "unchanged"
    assert rig.holder.current is rig.initial
    assert rig.reloads("unchanged") == 1


def test_reverting_a_bad_edit_clears_the_stale_flag(rig: Rig) -> None:
    rig.path.write_text("version: [")
    assert rig.watcher.check_now().result == "rejected"
    rig.path.write_text(V1)
    assert rig.watcher.check_now().result == "unchanged"
    assert rig.stale == 0 and rig.watcher.last_error is None
    rig.assert_still_v1()


def test_a_loader_crash_is_a_rejection_not_a_dead_watcher(rig: Rig) -> None:
    def broken(path: Path) -> CompiledPolicy:
        raise RuntimeError("secret-looking detail")

    rig.watcher.loader = broken
    rig.path.write_text(V2)
    result = rig.watcher.check_now()
    assert result.result == "rejected"
    assert "loader failed: RuntimeError" in result.problems[0].render()
    assert "secret-looking detail" not in rig.watcher.status()
    rig.assert_still_v1()


def test_bytes_no_longer_on_disk_are_never_applied(rig: Rig) -> None:
    # A writer that keeps changing the file while each read compiles: whatever was
    # compiled is already stale, so nothing is applied.
    def racing_loader(path: Path) -> CompiledPolicy:
        policy = load_policy(path)
        path.write_text(V3 if path.read_text() == V2 else V2)
        return policy

    rig.watcher.loader = racing_loader
    rig.path.write_text(V2)
    result = rig.watcher.check_now()
    assert result.result == "rejected"
    assert "the file kept changing while it was read" in result.problems[0].render()
    rig.assert_still_v1()


# --- every way of writing is picked up by run() -------------------------------------------------


def write_in_place(path: Path, text: str) -> None:
    path.write_text(text)


def truncate_then_write(path: Path, text: str) -> None:
    # Two syscalls with the file empty in between: the debounce must read after both.
    with path.open("r+") as f:
        f.truncate(0)
        f.flush()
        os.fsync(f.fileno())
        f.write(text)


def rename_over(path: Path, text: str) -> None:
    tmp = path.with_name(".routing.yaml.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@pytest.mark.parametrize("write", [write_in_place, truncate_then_write, rename_over])
async def test_run_picks_up_each_write_mode(
    rig: Rig, write: Callable[[Path, str], None]
) -> None:
    async with running(rig):
        write(rig.path, V2)
        await wait_for(lambda: rig.holder.current.version == V2_VERSION, "v2 applied")
        rig.assert_now_v2()
        # A second edit proves the watch survived the first (a watch on a replaced inode
        # would have gone silent).
        write(rig.path, V3)
        await wait_for(lambda: rig.holder.current.version == V3_VERSION, "v3 applied")
        assert rig.reloads("applied") == 2


def k8s_configmap(directory: Path, text: str) -> Path:
    """The layout kubelet writes: policy.yaml -> ..data/policy.yaml, ..data -> ..<ts>."""
    directory.mkdir()
    (directory / "..2026_v1").mkdir()
    (directory / "..2026_v1" / "policy.yaml").write_text(text)
    (directory / "..data").symlink_to("..2026_v1")
    (directory / "policy.yaml").symlink_to("..data/policy.yaml")
    return directory / "policy.yaml"


def k8s_swap(directory: Path, old: str, new: str, text: str) -> None:
    (directory / new).mkdir()
    (directory / new / "policy.yaml").write_text(text)
    (directory / "..data_tmp").symlink_to(new)
    os.replace(directory / "..data_tmp", directory / "..data")  # the atomic step
    shutil.rmtree(directory / old)  # kubelet then removes the old generation


def test_symlink_chain_names_every_component(tmp_path: Path) -> None:
    path = k8s_configmap(tmp_path / "cm", V1)
    d = str(tmp_path / "cm")
    assert symlink_chain(path) == {
        f"{d}/policy.yaml", f"{d}/..data", f"{d}/..2026_v1/policy.yaml",
    }


async def test_run_picks_up_a_kubernetes_configmap_symlink_swap(tmp_path: Path) -> None:
    directory = tmp_path / "cm"
    rig = Rig(k8s_configmap(directory, V1))
    async with running(rig):
        k8s_swap(directory, "..2026_v1", "..2026_v2", V2)
        await wait_for(lambda: rig.holder.current.version == V2_VERSION, "v2 applied")
        rig.assert_now_v2()
        k8s_swap(directory, "..2026_v2", "..2026_v3", V3)
        await wait_for(lambda: rig.holder.current.version == V3_VERSION, "v3 applied")


async def test_run_rejects_then_recovers_when_the_file_is_fixed(rig: Rig) -> None:
    async with running(rig):
        rig.path.write_text(V2.replace("Purchase: Purchase", "Purchse: Purchase"))
        await wait_for(lambda: rig.reloads("rejected") >= 1, "the bad edit rejected")
        assert rig.stale == 1
        rig.assert_still_v1()
        rig.path.write_text(V2)
        await wait_for(lambda: rig.holder.current.version == V2_VERSION, "the fix applied")
        rig.assert_now_v2()


async def test_run_survives_deletion_and_recreation(rig: Rig) -> None:
    async with running(rig):
        rig.path.unlink()
        await wait_for(lambda: rig.reloads("rejected") >= 1, "the deletion rejected")
        rig.assert_still_v1()
        rig.path.write_text(V2)
        await wait_for(lambda: rig.holder.current.version == V2_VERSION, "the new file applied")
        rig.assert_now_v2()


async def test_poll_catches_changes_the_watch_missed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def deaf_awatch(*args: object, **kwargs: object) -> AsyncIterator[set[Any]]:
        await asyncio.Event().wait()  # a filesystem that never reports anything
        yield set()

    polls = 0
    real_fingerprint = policy_watch._fingerprint

    def counting_fingerprint(path: Path) -> str:
        nonlocal polls
        polls += 1
        return real_fingerprint(path)

    monkeypatch.setattr(policy_watch, "awatch", deaf_awatch)
    monkeypatch.setattr(policy_watch, "_fingerprint", counting_fingerprint)
    path = tmp_path / "routing.yaml"
    path.write_text(V1)
    rig = Rig(path, poll_interval_s=0.05)
    task = asyncio.create_task(rig.watcher.run())
    try:
        path.write_text("version: [")
        await wait_for(lambda: rig.reloads("rejected") == 1, "poll sees the bad edit")
        # The same bad bytes are judged once, not once per poll.
        seen = polls
        await wait_for(lambda: polls >= seen + 3, "three more polls")
        assert rig.reloads("rejected") == 1
        path.write_text(V2)
        await wait_for(lambda: rig.holder.current.version == V2_VERSION, "poll applies v2")
        rig.assert_now_v2()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_compiling_runs_off_the_event_loop(rig: Rig) -> None:
    threads: list[int] = []

    def recording_loader(path: Path) -> CompiledPolicy:
        threads.append(threading.get_ident())
        return load_policy(path)

    rig.watcher.loader = recording_loader
    rig.path.write_text(V2)
    assert (await rig.watcher.check()).result == "applied"
    assert threads and threading.get_ident() not in threads


def test_an_applied_policy_logs_its_warnings(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    disabled = V2.replace("    class: warehouse\n", "    class: warehouse\n    enabled: false\n")
    rig.path.write_text(disabled)
    with caplog.at_level(logging.WARNING, logger="eventyard.worker.policy_watch"):
        result = rig.watcher.check_now()
    assert result.result == "applied"
    assert [p.kind for p in rig.holder.current.warnings] == ["disabled"]
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert logged == [rig.holder.current.warnings[0].render()]
