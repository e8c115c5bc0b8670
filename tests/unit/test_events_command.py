"""`eventyard events` and docs/events.md: the 66 canonical events, readable by a person."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from eventyard.cli import main
from eventyard.taxonomy import STAGES, TAXONOMY
from eventyard.taxonomy.listing import render_markdown

REPO = Path(__file__).resolve().parents[2]


def test_json_lists_every_canonical_event_with_stage_and_requirements(
    capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["events", "--json"]) == 0
    rows = orjson.loads(capsys.readouterr().out)
    assert len(rows) == len(TAXONOMY) == 66
    by_name = {r["name"]: r for r in rows}
    assert set(by_name) == set(TAXONOMY)
    assert by_name["Purchase"]["stage"] == "revenue"
    assert by_name["Purchase"]["requires"] == ["value", "currency"]
    assert by_name["Refund"]["adsProtected"] and not by_name["SignUp"]["adsProtected"]
    # funnel order: stages as the taxonomy lists them
    assert [r["stage"] for r in rows] == sorted((r["stage"] for r in rows), key=STAGES.index)


def test_the_table_names_every_event(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["events"]) == 0
    out = capsys.readouterr().out
    for name in TAXONOMY:
        assert f" {name} " in out, name


def test_stage_filter(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "--json", "--stage", "revenue"]) == 0
    rows = orjson.loads(capsys.readouterr().out)
    assert {r["stage"] for r in rows} == {"revenue"} and len(rows) == sum(
        e.stage == "revenue" for e in TAXONOMY.values())


def test_the_checked_in_page_is_what_the_taxonomy_generates() -> None:
    page = (REPO / "docs" / "events.md").read_text("utf-8")
    assert page == render_markdown(), "docs/events.md drifted: run `make schemas`"
    for name in TAXONOMY:
        assert f"| `{name}` |" in page
