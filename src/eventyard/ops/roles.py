"""Topic roles: ops name topics by what they hold (raw, ads, dlq, …), settings name them."""

from __future__ import annotations

from eventyard.errors import ConfigError
from eventyard.settings import Settings

ROLES = ("raw", "keyed", "ads", "crm", "warehouse", "dlq", "dedup", "duplicates")
OUTPUT_ROLES = ("ads", "crm", "warehouse")
# Roles whose records hold raw PII: raw events (raw, keyed, dlq) and CRM/warehouse records
# with `pii: raw`. Ads records carry only hashes; dedup and duplicates hold ids only.
PII_ROLES = frozenset({"raw", "keyed", "dlq", "crm", "warehouse"})


def topic_for(settings: Settings, role: str) -> str:
    topic: str = getattr(settings, f"topic_{role}")
    return topic


def resolve(settings: Settings, name: str) -> tuple[str, str]:
    """A role or a topic name -> (role, topic); ConfigError naming the choices."""
    if name in ROLES:
        return name, topic_for(settings, name)
    for role in ROLES:
        if topic_for(settings, role) == name:
            return role, name
    raise ConfigError(
        f"unknown topic {name!r}: use one of {', '.join(ROLES)} or their EVENTYARD_TOPIC_* names"
    )
