"""Generated artefacts: JSON Schemas of the raw contract, output records and policy, and
the reason-code list. `make schemas` writes them; tests fail when the checked-in copies
drift from the models (the models are the single source of truth)."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

from eventyard.contract.model import RawEvent
from eventyard.contract.reasons import render_markdown
from eventyard.policy.schema import PolicyFile
from eventyard.records import RoutedRecord
from eventyard.taxonomy.listing import render_markdown as events_markdown


def generated() -> dict[str, str]:
    """Relative path -> exact file content."""

    def schema(model: type[RawEvent] | type[RoutedRecord] | type[PolicyFile]) -> str:
        doc = model.model_json_schema(by_alias=True)
        doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"

    return {
        "schemas/raw-event.v1.json": schema(RawEvent),
        "schemas/routed.v1.json": schema(RoutedRecord),
        "schemas/policy.v1.json": schema(PolicyFile),
        "docs/reason-codes.md": render_markdown(),
        "docs/events.md": events_markdown(),
    }


def main(root: Path = Path(".")) -> int:
    for rel, content in generated().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
