"""Why a destination was skipped, in a sentence with the figures that decided it (explain).

The router itself only records a reason code per destination (hot path); this spells the
code out for a person, from the same compiled policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eventyard.policy.compiled import CompiledPolicy, Route
from eventyard.taxonomy import TAXONOMY

_UNITS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))


def _unit_of(ms: int) -> tuple[str, int]:
    """The largest unit the limit is a whole number of, days only from a week up, as the
    platforms state their windows (7d, 90d; 72h, 48h)."""
    for name, size in _UNITS:
        if ms % size == 0 and (name != "d" or ms >= 7 * size):
            return name, size
    return "ms", 1


def _amount(ms: int, size: int) -> str:
    text = f"{ms / size:.1f}"
    return text[:-2] if text.endswith(".0") else text


def age_against(age_ms: int, limit_ms: int) -> str:
    """'11 d > max_age 7 d', both in the limit's unit; never shows a tie for an age
    that is over the limit."""
    unit, size = _unit_of(limit_ms)
    age, limit = _amount(age_ms, size), _amount(limit_ms, size)
    if age == limit:
        age = f"{age_ms / size:.3f}".rstrip("0")
    return f"{age} {unit} > max_age {limit} {unit}"


def _route(policy: CompiledPolicy, event: str, destination: str) -> Route | None:
    routes = policy.routes.get(event, policy.custom_routes)
    return next((r for r in routes if r.destination == destination), None)


def skip_detail(
    reason: str, destination: str, event: str, policy: CompiledPolicy, age_ms: int,
    consent: Mapping[str, Any] | None,
) -> str:
    """`reason: what decided it` for one skipped destination of one event."""
    klass = policy.classes.get(destination, "")
    if reason == "too_old":
        route = _route(policy, event, destination)
        if route is not None and route.max_age_ms is not None:
            return f"too_old: {age_against(age_ms, route.max_age_ms)}"
    if reason == "no_consent":
        given = (consent or {}).get(klass)
        if given is False:
            return f"no_consent: consent.{klass} is false"
        return f"no_consent: {destination} requires consent.{klass}: true, and the event " \
            "does not carry it"
    if reason == "not_in_policy":
        return f"not_in_policy: {destination}'s events map does not list {event}"
    if reason == "excluded":
        canonical = TAXONOMY.get(event)
        if canonical is not None and canonical.ads_protected and klass == "ads":
            return f"excluded: {event} is protected; events: all never sends it to ads, " \
                "only an explicit mapping does"
        return f"excluded: {destination}'s exclude list names {event}"
    if reason == "custom_event":
        return "custom_event: not a canonical event; custom events go only to warehouse " \
            "destinations with events: all"
    if reason == "no_match_keys":
        route = _route(policy, event, destination)
        if route is not None and route.match_keys:
            keys = " or ".join(" + ".join(sorted(g)) for g in route.match_keys)
            return f"no_match_keys: {route.platform} matches a conversion on {keys}, and " \
                "the event carries none of them (a hashed field counts only when it is valid)"
    return reason
