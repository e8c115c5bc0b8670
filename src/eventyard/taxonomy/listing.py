"""The canonical events as a reader needs them: rows for `eventyard events` and the
generated page docs/events.md."""

from __future__ import annotations

from typing import Any

from eventyard.taxonomy.catalog import STAGES, TAXONOMY, CanonicalEvent

# What every event needs, whatever its name (contract/model.py).
ALWAYS_REQUIRED = ("event", "eventId", "one of userId, anonymousId, externalId, email")


def ordered() -> list[CanonicalEvent]:
    """Funnel order: by stage, then as listed in events.yaml."""
    rank = {stage: i for i, stage in enumerate(STAGES)}
    return sorted(TAXONOMY.values(), key=lambda e: rank[e.stage])


def as_json() -> list[dict[str, Any]]:
    return [
        {"name": e.name, "stage": e.stage, "requires": list(e.requires),
         "adsProtected": e.ads_protected, "description": e.description}
        for e in ordered()
    ]


def render_markdown() -> str:
    """docs/events.md (tests fail when the checked-in page drifts from the taxonomy)."""
    lines = [
        "# Canonical events",
        "",
        "Generated from `src/eventyard/taxonomy/events.yaml` by `make schemas`; do not edit",
        "by hand. `eventyard events` prints the same list (`--json` for tools).",
        "",
        f"eventyard knows {len(TAXONOMY)} canonical events in {len(STAGES)} funnel stages.",
        f"Every event carries {', '.join(ALWAYS_REQUIRED[:-1])} and {ALWAYS_REQUIRED[-1]};",
        "the *requires* column lists what an event needs on top of that (money events: `value`",
        "and `currency`), and the router dead-letters an event without it.",
        "",
        "*Protected* events (refunds, churn, product usage) reach an ad platform only when a",
        "destination's `events:` map names them; `events: all` never sends them to ads, and",
        "`check-policy` warns when a map does. A name outside this list is a custom event:",
        "warehouse only, or dead-lettered, per `defaults.custom_events`. A producer's own name",
        "for one of these events can be mapped to it with the policy's `aliases:`",
        "(docs/policy.md).",
    ]
    for stage in STAGES:
        lines += [
            "", f"## {stage.replace('_', ' ')}", "",
            "| event | requires | protected | description |", "|---|---|---|---|",
        ]
        for e in ordered():
            if e.stage == stage:
                requires = ", ".join(f"`{f}`" for f in e.requires)
                lines.append(f"| `{e.name}` | {requires} | {'yes' if e.ads_protected else ''} "
                             f"| {e.description} |")
    return "\n".join(lines) + "\n"
