"""Generated artefacts (JSON Schemas, reason-code list) match the models they come from."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from eventyard.contract.reasons import REASONS, WARNINGS
from eventyard.schemas import generated

REPO = Path(__file__).resolve().parents[2]
GENERATED = generated()


def test_the_generated_set_is_what_is_checked_in() -> None:
    assert set(GENERATED) == {
        "schemas/raw-event.v1.json", "schemas/routed.v1.json", "schemas/policy.v1.json",
        "docs/reason-codes.md", "docs/events.md",
    }
    on_disk = {p.relative_to(REPO).as_posix() for p in (REPO / "schemas").glob("*.json")}
    assert on_disk == {k for k in GENERATED if k.startswith("schemas/")}, (
        "a schema file is checked in that the models no longer generate (or vice versa)"
    )


@pytest.mark.parametrize("rel", sorted(GENERATED))
def test_checked_in_file_has_not_drifted(rel: str) -> None:
    path = REPO / rel
    assert path.exists(), f"{rel} is missing: run `make schemas` and commit the result"
    assert path.read_text("utf-8") == GENERATED[rel], (
        f"{rel} drifted from the models: run `make schemas` and commit the result"
    )


@pytest.mark.parametrize("rel", [r for r in sorted(GENERATED) if r.endswith(".json")])
def test_schemas_are_json_schema_2020_12_with_an_id(rel: str) -> None:
    doc = orjson.loads(GENERATED[rel])
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$id"] == f"https://eventyard.dev/{rel}"
    assert doc["type"] == "object"
    assert doc.get("additionalProperties") is False  # unknown fields are rejected


def test_raw_event_schema_states_the_contract() -> None:
    doc = orjson.loads(GENERATED["schemas/raw-event.v1.json"])
    assert set(doc["required"]) == {"event", "eventId"}
    assert "email" in doc["properties"] and "properties" in doc["properties"]


def test_routed_schema_uses_the_wire_names() -> None:
    doc = orjson.loads(GENERATED["schemas/routed.v1.json"])
    assert {"schema", "class", "routedTo", "policyVersion"} <= set(doc["properties"])
    assert "schema_" not in doc["properties"] and "class_" not in doc["properties"]


def test_reason_codes_doc_lists_every_code() -> None:
    text = GENERATED["docs/reason-codes.md"]
    dead, warned = text.split("## Dead-letter reason codes")[1].split("## Warning codes")
    assert len([ln for ln in dead.splitlines() if ln.startswith("| `")]) == len(REASONS)
    for code, meaning in REASONS.items():
        assert f"| `{code}` | {meaning} |" in dead
    assert len([ln for ln in warned.splitlines() if ln.startswith("| `")]) == len(WARNINGS)
    for code, meaning in WARNINGS.items():
        assert f"| `{code}` | {meaning} |" in warned
