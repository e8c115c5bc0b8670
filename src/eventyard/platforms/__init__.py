"""The platform registry (pure): each destination platform's class, name rules, event-age
window, context fields, click ids and PII normalisation rules, in one table."""

from __future__ import annotations

from eventyard.errors import PlatformRegistryError
from eventyard.platforms.model import (
    STYLES,
    PiiRules,
    Platform,
    Style,
    build_registry,
    pii_rules,
)
from eventyard.platforms.table import GENERIC_PII, PII_MODES, PLATFORMS

__all__ = [
    "GENERIC_PII", "PII_MODES", "PLATFORMS", "STYLES", "PiiRules", "Platform",
    "PlatformRegistryError", "Style", "build_registry", "pii_rules",
]  # fmt: skip
