"""The canonical event taxonomy: 66 events in six funnel stages, loaded once from packaged YAML."""

from __future__ import annotations

from eventyard.taxonomy.catalog import (
    STAGES,
    TAXONOMY,
    CanonicalEvent,
    closest_canonical,
    near_miss,
)

__all__ = ["STAGES", "TAXONOMY", "CanonicalEvent", "closest_canonical", "near_miss"]
