"""Routing policy: YAML schema, loading with line numbers, lint, compile to lookup tables."""

from __future__ import annotations

from eventyard.policy.compiled import CompiledPolicy, Route
from eventyard.policy.loader import load_policy, parse_policy, policy_version

__all__ = ["CompiledPolicy", "Route", "load_policy", "parse_policy", "policy_version"]
