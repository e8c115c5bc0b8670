"""Hostile policy files, on real files and a real FIFO: only regular files of bounded size
are read, alias bombs are refused, merge keys work, a refused reload is visible, never
blocks shutdown, and each bad save is parsed once (policy/readfile.py, yamlsource.py,
worker/policy_watch.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from tests.unit.test_policy_watch import V1, V2, V2_VERSION, Rig, wait_for

from eventyard.errors import PolicyError
from eventyard.policy import CompiledPolicy, load_policy, parse_policy
from eventyard.policy.readfile import UnreadableFile, read_regular_file
from eventyard.policy.yamlsource import MAX_NODES, load_yaml
from eventyard.worker import policy_watch

REPO = Path(__file__).resolve().parents[2]

# 342 bytes; fully expanded it would be 9^9 = 387 million strings.
BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n" if prev else
    f"{name}: &{name} [{', '.join(['lol'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "routing.yaml"
    os.mkfifo(path)
    return path


def test_a_fifo_is_refused_without_blocking(fifo: Path) -> None:
    # Nobody writes to it: an open() or read() of it would block forever.
    with pytest.raises(UnreadableFile, match="a FIFO, not a regular file"):
        read_regular_file(fifo)
    with pytest.raises(PolicyError, match="cannot read the file: a FIFO"):
        load_policy(fifo)


@pytest.mark.parametrize(("path", "kind"), [("/dev/zero", "a device"), (".", "a directory")])
def test_devices_and_directories_are_refused(path: str, kind: str) -> None:
    with pytest.raises(UnreadableFile, match=f"{kind}, not a regular file"):
        read_regular_file(path)


def test_an_oversized_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "routing.yaml"
    big.write_bytes(b"#" * 2000)
    with pytest.raises(UnreadableFile, match="2000 bytes, over the 1000-byte limit"):
        read_regular_file(big, max_bytes=1000)
    assert read_regular_file(big, max_bytes=2000) == b"#" * 2000


def test_a_symlink_to_a_regular_file_is_read(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text(V1)
    link = tmp_path / "routing.yaml"
    link.symlink_to(real)
    assert load_policy(link).destinations == ("meta", "warehouse")


def test_the_alias_bomb_is_refused_with_a_clear_message() -> None:
    assert len(BOMB) < 400
    with pytest.raises(PolicyError) as info:
        parse_policy(BOMB.encode(), "bomb.yaml")
    (problem,) = info.value.problems
    assert problem.render() == (
        f"bomb.yaml:1: <root>: the document expands to more than {MAX_NODES} nodes through "
        "its aliases (&anchor/*alias); write the values out or use fewer nested aliases"
    )


def test_check_policy_refuses_the_bomb_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    done = subprocess.run(
        [sys.executable, "-m", "eventyard.cli", "check-policy", str(path)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert done.returncode == 1
    assert "expands to more than" in done.stderr and "Traceback" not in done.stderr


def test_the_shipped_policy_is_far_inside_the_node_budget() -> None:
    text = (REPO / "config" / "routing.yaml").read_text()
    data, _, problems = load_yaml(text, "routing.yaml")
    assert data is not None and not problems


MERGED = """\
version: 1
destinations:
  meta: &ads
    class: ads
    pii: sha256
    consent: required
    events:
      SignUp: CompleteRegistration
  tiktok:
    <<: *ads
    consent: assumed
  warehouse:
    class: warehouse
    pii: raw
    events: all
"""


def test_merge_keys_work_and_explicit_keys_win() -> None:
    data, smap, problems = load_yaml(MERGED, "m.yaml")
    assert not problems
    assert data["destinations"]["tiktok"] == {
        "class": "ads", "pii": "sha256", "consent": "assumed",
        "events": {"SignUp": "CompleteRegistration"},
    }
    assert smap.line(("destinations", "tiktok", "consent")) == 11
    policy = parse_policy(MERGED.encode(), "m.yaml")
    assert policy.destinations == ("meta", "tiktok", "warehouse")


def test_a_merge_of_a_scalar_gets_a_clear_message() -> None:
    text = MERGED.replace("<<: *ads", "<<: oops")
    with pytest.raises(PolicyError, match="`<<` merges a mapping"):
        parse_policy(text.encode(), "m.yaml")


def test_a_key_that_is_an_alias_of_a_big_node_is_not_expanded() -> None:
    text = BOMB + "? *i\n: 1\n"
    _, _, problems = load_yaml(text, "k.yaml")
    assert problems  # refused, not built


# --- the live watcher ----------------------------------------------------------------------


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    path = tmp_path / "routing.yaml"
    path.write_text(V1)
    return Rig(path, poll_interval_s=0.05)


def _swap_for_fifo(path: Path) -> None:
    tmp = path.with_name("fifo.tmp")
    os.mkfifo(tmp)
    os.replace(tmp, path)


async def test_a_fifo_at_the_policy_path_is_refused_visibly_and_a_later_edit_applies(
    rig: Rig,
) -> None:
    task = asyncio.create_task(rig.watcher.run())
    try:
        _swap_for_fifo(rig.path)
        await wait_for(lambda: rig.reloads("rejected") >= 1, "the FIFO refused")
        assert rig.stale == 1
        assert "cannot read the file: a FIFO" in rig.watcher.status()
        rig.assert_still_v1()
        tmp = rig.path.with_name("new.tmp")
        tmp.write_text(V2)
        os.replace(tmp, rig.path)
        await wait_for(lambda: rig.holder.current.version == V2_VERSION, "the edit applied")
        rig.assert_now_v2()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)  # a hang here is the bug, not a slow host


async def test_a_stuck_read_never_blocks_stopping(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read that never returns (a hung network mount): the watcher gives up on it after
    # the read timeout, reports it, and is cancelled at once.
    from eventyard.policy import readfile

    release = threading.Event()

    def hung(path: Path, max_bytes: int) -> bytes:
        release.wait()
        return b""

    monkeypatch.setattr(readfile, "_read", hung)
    monkeypatch.setattr(readfile, "READ_TIMEOUT_S", 0.2)
    task = asyncio.create_task(rig.watcher.run())
    try:
        rig.path.write_text(V2)
        await wait_for(lambda: rig.reloads("rejected") >= 1, "the stuck read refused")
        assert "reading took longer than" in rig.watcher.status()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        release.set()


async def test_each_bad_save_is_parsed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    polls = 0
    real_fingerprint = policy_watch._fingerprint

    def counting_loader(path: Path) -> CompiledPolicy:
        calls.append(path)
        return load_policy(path)

    def counting_fingerprint(path: Path) -> str:
        nonlocal polls
        polls += 1
        return real_fingerprint(path)

    monkeypatch.setattr(policy_watch, "_fingerprint", counting_fingerprint)
    path = tmp_path / "routing.yaml"
    path.write_text(V1)
    # The directory watch and a fast poll both see the save.
    rig = Rig(path, poll_interval_s=0.05, loader=counting_loader)
    task = asyncio.create_task(rig.watcher.run())
    try:
        path.write_text(BOMB)
        await wait_for(lambda: rig.reloads("rejected") >= 1, "the bomb refused")
        seen = polls
        await wait_for(lambda: polls >= seen + 5, "five more polls")
        assert len(calls) == 1
        assert rig.reloads("rejected") == 1
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
