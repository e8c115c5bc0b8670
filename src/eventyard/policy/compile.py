"""PolicyFile -> CompiledPolicy: per-canonical-event route tables, built once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from eventyard.errors import PolicyProblem
from eventyard.platforms import PLATFORMS
from eventyard.policy.compiled import DEFAULT_ADS_KEY, CompiledPolicy, EventPlan, Route, Sending
from eventyard.policy.lint import platform_of
from eventyard.policy.schema import Destination, PolicyFile, duration_ms
from eventyard.policy.signals_lint import compile_rule, signal_targets
from eventyard.records import record_head
from eventyard.routing.pii import PII_INPUTS
from eventyard.taxonomy import TAXONOMY


def _route(name: str, dest: Destination, native: str, contexts: dict[Any, int]) -> Route:
    platform = platform_of(name, dest) or "generic"
    spec = PLATFORMS[platform]
    max_age = dest.max_age or spec.max_age
    props = dest.properties
    if props is None:
        props = "none" if dest.klass == "ads" else "all"
    # What a route's context block depends on (routing/router.py builds one per key and
    # event): class (ads get stripped URLs), fields, click ids and kept URL parameters;
    # without click ids in the event, the click ids taken do not matter.
    ads = dest.klass == "ads"
    bare = (ads, spec.context, tuple(dest.url_params))
    full = (*bare, frozenset(spec.click_ids))
    return Route(
        destination=name,
        klass=dest.klass,
        platform=platform,
        name=native,
        pii=dest.pii,
        consent_key=None if dest.klass == "warehouse" else dest.klass,
        consent_required=dest.consent == "required",
        max_age_ms=duration_ms(max_age) if max_age else None,
        context=spec.context,
        click_ids=frozenset(spec.click_ids),
        properties=props if isinstance(props, str) else frozenset(props),
        url_params=tuple(dest.url_params),
        head=record_head(name, dest.klass, native) if native else b"",
        match_keys=tuple(frozenset(g) for g in spec.match_keys) if dest.klass == "ads" else (),
        context_key=contexts.setdefault(full, len(contexts)),
        bare_context_key=contexts.setdefault(bare, len(contexts)),
    )


def _ads_inputs(routes: Sequence[Route]) -> tuple[str, ...]:
    """The fields of PII_INPUTS that hashing reads for these (ads) routes: the rules'
    fields, userId when externalId is one (it stands in for a missing externalId), and
    country (it picks the phone region); every field given for rules with `others`."""
    read: set[str] = {"country"}
    for route in routes:
        rules = PLATFORMS[route.platform].rules
        if rules.others is not None:
            return PII_INPUTS
        read.update(rules.fields)
    if "externalId" in read:
        read.add("userId")
    return tuple(f for f in PII_INPUTS if f in read)


def _sending(event: str, routes: Sequence[Route], skips: Mapping[str, str],
             ads: bool | None, crm: bool | None, too_old: frozenset[int]) -> Sending:
    """The routes sent in one consent/age state; the rest get their skip reason, in route
    order after the policy's own skips."""
    sending: list[Route] = []
    skipped = dict(skips)
    for route in routes:
        given = ads if route.consent_key == "ads" else crm if route.consent_key == "crm" else None
        if route.consent_key is not None and (
            given is False or (route.consent_required and given is not True)
        ):
            skipped[route.destination] = "no_consent"
        elif route.max_age_ms in too_old:
            skipped[route.destination] = "too_old"
        else:
            sending.append(route)
    return Sending(event, tuple(sending), skipped)


def _plan(event: str, routes: Sequence[Route], skips: Mapping[str, str]) -> EventPlan:
    """Every consent/age state of one event name (`event`: "" for custom events, whose
    names are their own), so routing an event only looks its state up."""
    ages = tuple(sorted({r.max_age_ms for r in routes if r.max_age_ms is not None}))
    states = {
        (ads, crm, i): _sending(event, routes, skips, ads, crm, frozenset(ages[:i]))
        for ads in (None, True, False) for crm in (None, True, False)
        for i in range(len(ages) + 1)
    }
    return EventPlan(ages, states, tuple(states[(None, None, i)] for i in range(len(ages) + 1)))


def compile_policy(
    policy: PolicyFile, version: str, source: str, hmac_key: bytes | None,
    warnings: tuple[PolicyProblem, ...] = (), ads_key: bytes = DEFAULT_ADS_KEY,
) -> CompiledPolicy:
    enabled = {n: d for n, d in policy.destinations.items() if d.enabled}
    contexts: dict[Any, int] = {}
    routes: dict[str, list[Route]] = {c: [] for c in TAXONOMY}
    skips: dict[str, dict[str, str]] = {c: {} for c in TAXONOMY}
    for name, dest in enabled.items():
        for canonical, event in TAXONOMY.items():
            if isinstance(dest.events, dict):
                native = dest.events.get(canonical)
                if native is None:
                    skips[canonical][name] = "not_in_policy"
                else:
                    routes[canonical].append(_route(name, dest, native, contexts))
            elif canonical in dest.exclude or (dest.klass == "ads" and event.ads_protected):
                # Refunds, churn and product-internal events reach an ad platform only when
                # ops name them explicitly in an events map, never through `all`.
                skips[canonical][name] = "excluded"
            else:
                routes[canonical].append(_route(name, dest, canonical, contexts))
    # A derived event routes like a canonical one: warehouse, plus the CRMs by default.
    for signal_name, signal in policy.signals.items():
        targets = signal_targets(signal_name, signal, enabled)
        routes[signal_name] = [_route(n, enabled[n], native, contexts)
                               for n, native in targets.items()]
        skips[signal_name] = {n: "not_in_policy" for n in enabled if n not in targets}
    custom_routes: list[Route] = []
    custom_skips: dict[str, str] = {}
    for name, dest in enabled.items():
        if policy.defaults.custom_events == "warehouse" and dest.klass == "warehouse" and (
            dest.events == "all"
        ):
            custom_routes.append(_route(name, dest, "", contexts))  # native name = the event's own
        else:
            custom_skips[name] = "custom_event"
    return CompiledPolicy(
        version=version,
        dedup_window_ms=duration_ms(policy.defaults.dedup_window),
        custom_events=policy.defaults.custom_events,
        source=source,
        destinations=tuple(enabled),
        classes={n: d.klass for n, d in enabled.items()},
        routes={c: tuple(r) for c, r in routes.items()},
        skips=skips,
        custom_routes=tuple(custom_routes),
        custom_skips=custom_skips,
        hmac_key=hmac_key,
        ads_key=ads_key,
        aliases=MappingProxyType(dict(policy.aliases)),
        warnings=warnings,
        signals=tuple(compile_rule(n, s) for n, s in policy.signals.items()),
        signals_source=next((n for n, d in enabled.items()
                             if d.klass == "warehouse" and d.events == "all"), ""),
        plans={c: _plan(c, r, skips[c]) for c, r in routes.items()},
        ads_inputs=_ads_inputs([r for rs in routes.values() for r in rs if r.klass == "ads"]),
        custom_plan=_plan("", custom_routes, custom_skips)
        if policy.defaults.custom_events != "reject" else None,
    )
