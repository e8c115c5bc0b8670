"""The compiled policy: everything the hot path needs, computed once per policy version."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    version: str
    dedup_window_ms: int
