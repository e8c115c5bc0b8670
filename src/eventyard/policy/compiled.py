"""The compiled policy: everything the hot path needs, computed once per policy version.

Routing an event is then a dict lookup by canonical name plus a few per-event checks
(consent, age); nothing here is parsed, matched or sorted per event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from eventyard.errors import PolicyProblem
from eventyard.routing.outcome import DestinationClass
from eventyard.signals.rules import SignalRule

DEFAULT_ADS_KEY = b"eventyard-ads-key-v1"


@dataclass(frozen=True, slots=True)
class Route:
    """One destination's plan for one canonical event."""

    destination: str
    klass: DestinationClass
    platform: str
    name: str  # native name
    pii: str  # sha256 | raw | hmac | drop
    consent_key: str | None  # "ads" | "crm" | None (warehouse ignores consent)
    consent_required: bool
    max_age_ms: int | None
    context: tuple[str, ...]
    click_ids: frozenset[str]
    properties: str | frozenset[str]  # "all" | "none" | allowlist
    # Ads routes: the platform's match keys (any one group, all of its fields present in
    # the record) from the platform registry; () for routes sent whatever they carry.
    match_keys: tuple[frozenset[str], ...] = ()
    # Ads only: query parameters of pageUrl/referrer kept (shell patterns); others dropped.
    url_params: tuple[str, ...] = ()
    # The record's first fields, encoded once: b'{"destination":..,"class":..,"name":..'
    # (routing/router.py splices it). Empty for custom-event routes, whose name is the
    # event's own.
    head: bytes = b""


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    version: str
    dedup_window_ms: int
    custom_events: str = "warehouse"
    source: str = ""
    destinations: tuple[str, ...] = ()
    classes: Mapping[str, str] = field(default_factory=dict)
    routes: Mapping[str, tuple[Route, ...]] = field(default_factory=dict)
    skips: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    custom_routes: tuple[Route, ...] = ()
    custom_skips: Mapping[str, str] = field(default_factory=dict)
    hmac_key: bytes | None = field(default=None, repr=False)
    # Secret of the ads records' keyed-hash key (routing/adsafety.py): EVENTYARD_ADS_KEY_SECRET,
    # else EVENTYARD_HMAC_KEY, else this public default (hides ids from a casual reader of
    # the topic, not from one who knows eventyard: set a secret in production).
    ads_key: bytes = field(default=DEFAULT_ADS_KEY, repr=False)
    # Event name a producer sends -> canonical name (the policy's `aliases:`).
    aliases: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[PolicyProblem, ...] = ()
    # Derived events of the `signals:` section; each name also has routes above.
    signals: tuple[SignalRule, ...] = ()
    # The warehouse destination whose records the signals processor counts ("" if none).
    signals_source: str = ""

    def summary(self) -> str:
        derived = {s.name for s in self.signals}
        routed = sum(len(r) for c, r in self.routes.items() if c not in derived)
        return (
            f"policy {self.version}: {len(self.destinations)} destinations "
            f"({', '.join(self.destinations)}), {routed} routes over "
            f"{len(self.routes) - len(self.signals)} canonical events, "
            f"{len(self.aliases)} aliases, "
            f"custom events -> {self.custom_events}, "
            f"dedup window {_duration(self.dedup_window_ms)}"
            + (f", {len(self.signals)} signals ({', '.join(s.name for s in self.signals)})"
               if self.signals else "")
        )


def _duration(ms: int) -> str:
    # Hours before days: ops think of dedup windows as 24h/48h, as the ad platforms state them.
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"
