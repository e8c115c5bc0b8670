"""PolicyFile -> CompiledPolicy: per-canonical-event route tables, built once."""

from __future__ import annotations

from types import MappingProxyType

from eventyard.errors import PolicyProblem
from eventyard.platforms import PLATFORMS
from eventyard.policy.compiled import DEFAULT_ADS_KEY, CompiledPolicy, Route
from eventyard.policy.lint import platform_of
from eventyard.policy.schema import Destination, PolicyFile, duration_ms
from eventyard.policy.signals_lint import compile_rule, signal_targets
from eventyard.records import record_head
from eventyard.taxonomy import TAXONOMY


def _route(name: str, dest: Destination, native: str) -> Route:
    platform = platform_of(name, dest) or "generic"
    spec = PLATFORMS[platform]
    max_age = dest.max_age or spec.max_age
    props = dest.properties
    if props is None:
        props = "none" if dest.klass == "ads" else "all"
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
    )


def compile_policy(
    policy: PolicyFile, version: str, source: str, hmac_key: bytes | None,
    warnings: tuple[PolicyProblem, ...] = (), ads_key: bytes = DEFAULT_ADS_KEY,
) -> CompiledPolicy:
    enabled = {n: d for n, d in policy.destinations.items() if d.enabled}
    routes: dict[str, list[Route]] = {c: [] for c in TAXONOMY}
    skips: dict[str, dict[str, str]] = {c: {} for c in TAXONOMY}
    for name, dest in enabled.items():
        for canonical, event in TAXONOMY.items():
            if isinstance(dest.events, dict):
                native = dest.events.get(canonical)
                if native is None:
                    skips[canonical][name] = "not_in_policy"
                else:
                    routes[canonical].append(_route(name, dest, native))
            elif canonical in dest.exclude or (dest.klass == "ads" and event.ads_protected):
                # Refunds, churn and product-internal events reach an ad platform only when
                # ops name them explicitly in an events map, never through `all`.
                skips[canonical][name] = "excluded"
            else:
                routes[canonical].append(_route(name, dest, canonical))
    # A derived event routes like a canonical one: warehouse, plus the CRMs by default.
    for signal_name, signal in policy.signals.items():
        targets = signal_targets(signal_name, signal, enabled)
        routes[signal_name] = [_route(n, enabled[n], native) for n, native in targets.items()]
        skips[signal_name] = {n: "not_in_policy" for n in enabled if n not in targets}
    custom_routes: list[Route] = []
    custom_skips: dict[str, str] = {}
    for name, dest in enabled.items():
        if policy.defaults.custom_events == "warehouse" and dest.klass == "warehouse" and (
            dest.events == "all"
        ):
            custom_routes.append(_route(name, dest, ""))  # native name = the event's own
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
    )
