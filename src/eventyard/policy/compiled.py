"""The compiled policy: everything the hot path needs, computed once per policy version.

Routing an event is then a dict lookup by canonical name plus a few per-event checks
(consent, age); nothing here is parsed, matched or sorted per event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from eventyard.errors import PolicyProblem
from eventyard.records import routed_to
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
    # Routing plan (compile.py), not part of what the route means, so not compared:
    # the context block this route shares with every route of the same `context_key`
    # (one when the event carries click ids, `bare_context_key` when it carries none).
    context_key: int = field(default=0, compare=False)
    bare_context_key: int = field(default=0, compare=False)


# Finals kept per Sending: one per set of ads destinations an event's identity cannot be
# matched on; a policy has few ads destinations, this bounds the worst case.
_MAX_FINALS = 256
# Match-key decisions kept per Sending: one per (what a weak identity holds, what the
# event carries); few distinct ones occur (anonymous visitors all hold nothing).
_MAX_MATCHES = 1024

# What an identity holds for the ads platforms it alone cannot be matched on: (platform,
# the hashed fields held) per such platform, in platform order (routing/router.py).
Weak = tuple[tuple[str, frozenset[str]], ...]


class Final:
    """Where one event goes once consent, age and match keys are decided: the routes sent,
    every skip reason, and each warehouse route's encoded routedTo (for a canonical or
    derived event; for custom events the router encodes it, the name being the event's)."""

    __slots__ = ("routed_to", "sending", "skipped")

    def __init__(self, event: str, sending: tuple[Route, ...], skipped: dict[str, str]) -> None:
        self.sending = sending
        self.skipped: Mapping[str, str] = MappingProxyType(skipped)
        sent = tuple((r.destination, r.name or event) for r in sending)
        self.routed_to: Mapping[str, bytes] = {
            r.destination: routed_to(r.destination, sent, skipped)
            for r in sending if r.klass == "warehouse"
        } if event else {}


class Sending:
    """The routes of one event that pass consent and age in one consent/age state, with
    the skip reasons so far; `final` adds the match-key decision."""

    __slots__ = ("_event", "_finals", "_matches", "ads_platforms", "ads_routes", "none",
                 "skipped")

    def __init__(self, event: str, sending: tuple[Route, ...], skipped: dict[str, str]) -> None:
        self._event = event
        self.skipped = skipped
        # Sorted: the ads-block cache key (routing/router.py) is the same for the same set.
        self.ads_platforms = tuple(sorted({r.platform for r in sending if r.klass == "ads"}))
        self.ads_routes = tuple(r for r in sending if r.klass == "ads" and r.match_keys)
        self.none = Final(event, sending, skipped)  # nothing skipped as no_match_keys
        self._finals: dict[tuple[str, ...], Final] = {(): self.none}
        self._matches: dict[tuple[Weak, frozenset[str]], Final] = {}

    def matched(self, weak: Weak, carried: frozenset[str]) -> Final:
        """The Final of an event whose identity holds `weak` (non-empty) and which carries
        the context fields and click ids `carried`: the ads routes whose record would hold
        none of the platform's match keys are skipped as no_match_keys. A route's context
        fields and click ids are its platform's, and match keys only name fields the
        platform is sent (platforms/model.py), so one set of what the event carries
        serves every route."""
        found = self._matches.get((weak, carried))
        if found is None:
            held = dict(weak)
            found = self.final(tuple(
                route.destination for route in self.ads_routes
                if (has := held.get(route.platform)) is not None
                and not any(group <= carried | has for group in route.match_keys)
            ))
            if len(self._matches) < _MAX_MATCHES:
                self._matches[weak, carried] = found
        return found

    def final(self, unmatched: tuple[str, ...]) -> Final:
        """The Final with `unmatched` (destinations, in route order) skipped as
        no_match_keys."""
        found = self._finals.get(unmatched)
        if found is None:
            found = Final(
                self._event, tuple(r for r in self.none.sending if r.destination not in unmatched),
                {**self.skipped, **dict.fromkeys(unmatched, "no_match_keys")},
            )
            if len(self._finals) < _MAX_FINALS:
                self._finals[unmatched] = found
        return found


@dataclass(frozen=True, slots=True, eq=False)
class EventPlan:
    """One event name's routes with every consent/age decision made up front: `sending`
    by (consent.ads, consent.crm, age index), `plain` by age index for events without
    consent. The age index of an event is how many of `ages` its age exceeds."""

    ages: tuple[int, ...]
    sending: Mapping[tuple[bool | None, bool | None, int], Sending]
    plain: tuple[Sending, ...]


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
    # routes and skips as the router reads them (compile.py): per event name, and for
    # custom events (None when they are rejected).
    plans: Mapping[str, EventPlan] = field(default_factory=dict, compare=False, repr=False)
    # The raw-event fields the ads routes' PII rules read (routing/pii.py), in the
    # router's order: what identifies a user for the hashed ads blocks.
    ads_inputs: tuple[str, ...] = field(default=(), compare=False, repr=False)
    custom_plan: EventPlan | None = field(default=None, compare=False, repr=False)

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
