"""The docs are self-contained: every relative link resolves to a file in the repo, no file
points outside it, and the facts docs state from code tables (platforms, golden vectors)
match those tables."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from eventyard.platforms import PLATFORMS

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted([REPO / "README.md", REPO / "bench" / "README.md", *(REPO / "docs").glob("*.md")])
# [text](target) and [text]: target; the target ends at whitespace or ')'.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)|^\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
TRACKED_DIRS = ("src", "tests", "docs", "config", "deploy", "bench", "schemas")
TRACKED_FILES = ("README.md", "Makefile", "pyproject.toml", "docker-compose.yml")


def _relative_links(doc: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", doc.read_text("utf-8"), flags=re.DOTALL)
    targets = [a or b for a, b in LINK.findall(text)]
    return [t for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


def test_there_are_docs_and_links_to_check() -> None:
    assert {d.name for d in DOCS} >= {"README.md", "pii.md", "platforms.md", "broker.md"}
    assert sum(len(_relative_links(d)) for d in DOCS) >= 10


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_points_at_a_file_in_the_repo(doc: Path) -> None:
    broken = []
    for target in _relative_links(doc):
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        if not path.exists() or REPO not in path.parents:
            broken.append(target)
    assert broken == [], f"{doc.relative_to(REPO)} links to missing files: {broken}"


def _repo_files() -> list[Path]:
    files = [REPO / f for f in TRACKED_FILES if (REPO / f).exists()]
    for d in TRACKED_DIRS:
        files += [p for p in (REPO / d).rglob("*") if p.is_file()
                  and "__pycache__" not in p.parts and ".egg-info" not in str(p)]
    return files


def test_no_file_points_outside_the_repo() -> None:
    outside = "shared" + "/"  # spelled apart so this file does not match itself
    hits = []
    for path in _repo_files():
        try:
            text = path.read_text("utf-8")
        except UnicodeDecodeError:
            continue
        hits += [f"{path.relative_to(REPO)}:{n}" for n, line in enumerate(text.splitlines(), 1)
                 if outside in line]
    assert hits == []


def test_platforms_page_names_every_platform_and_its_source() -> None:
    text = (REPO / "docs" / "platforms.md").read_text("utf-8")
    for name, platform in PLATFORMS.items():
        assert f"| `{name}` |" in text, name
        if platform.docs:
            assert platform.docs in text, name


def test_pii_page_lists_the_golden_vectors_the_tests_check() -> None:
    text = (REPO / "docs" / "pii.md").read_text("utf-8")
    rows = {m[0]: m[1] for m in re.findall(r"^\| ([A-Z]{2}-\d) \|.*`([0-9a-f]{64})`", text,
                                           flags=re.MULTILINE)}
    golden = [json.loads(line) for line in
              (REPO / "tests/unit/data/pii_golden.jsonl").read_text("utf-8").splitlines() if line]
    assert rows == {g["id"]: g["sha256"] for g in golden}
