"""Routing policy: YAML schema, loading with line numbers, lint, compile to lookup tables.

PROVISIONAL STUB: `load_policy(path) -> CompiledPolicy` is the stable interface.
"""

from __future__ import annotations

from pathlib import Path

from eventyard.policy.compiled import CompiledPolicy

__all__ = ["CompiledPolicy", "load_policy"]


def load_policy(path: str | Path) -> CompiledPolicy:
    """Load, validate and compile a policy file. Raises errors.PolicyError with every problem."""
    import hashlib

    data = Path(path).read_bytes()
    return CompiledPolicy(version=hashlib.sha256(data).hexdigest()[:12], dedup_window_ms=48 * 3600_000)
