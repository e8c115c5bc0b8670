"""The benchmark figures in README.md and bench/README.md are the ones in
bench/results.json: `python -m bench.report --write` renders them, and this checks that
the checked-in text was not edited by hand or left behind by a new results.json."""

from __future__ import annotations

import pytest
from bench import report


@pytest.mark.parametrize("name", sorted(report.SECTIONS))
def test_checked_in_section_matches_results_json(name: str) -> None:
    assert report.checked_in(name) == report.rendered(name, report.load()), (
        f"run `python -m bench.report --write` to refresh the {name} section"
    )


def test_every_target_is_in_the_readme_with_its_verdict() -> None:
    results = report.load()
    section = report.checked_in("targets")
    for t in results["targets"]:
        assert t["target"] in section
        assert ("met" if t["met"] else "missed") in section
