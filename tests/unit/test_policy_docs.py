"""docs/policy.md documents every key of the policy format and every problem kind."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from eventyard.errors import ProblemKind
from eventyard.policy.schema import Defaults, Destination, PolicyFile

DOC = (Path(__file__).resolve().parents[2] / "docs" / "policy.md").read_text("utf-8")
KEYS = [
    *PolicyFile.model_fields,
    *Defaults.model_fields,
    *(f.alias or n for n, f in Destination.model_fields.items()),
]
# Kinds only test files and the worker's reload produce; docs/ops.md covers those.
NOT_POLICY_FILE = {"bad_case", "duplicate_case", "reload_failed"}


@pytest.mark.parametrize("key", KEYS)
def test_every_policy_key_has_a_row(key: str) -> None:
    assert f"| `{key}` |" in DOC, f"docs/policy.md has no row for {key}"


@pytest.mark.parametrize("kind", sorted(set(get_args(ProblemKind)) - NOT_POLICY_FILE))
def test_every_problem_kind_is_explained(kind: str) -> None:
    assert f"| `{kind}` |" in DOC, f"docs/policy.md does not explain {kind}"
