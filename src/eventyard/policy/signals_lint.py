"""Lint and compile the `signals:` section: names, counted events, identities, and where
each derived event goes. Every rule reports, none stops early."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import ValidationError

from eventyard.errors import PolicyProblem
from eventyard.platforms import PLATFORMS
from eventyard.policy.lint import platform_of
from eventyard.policy.schema import Destination, Signal, duration_ms
from eventyard.policy.yamlsource import SourceMap
from eventyard.signals.rules import IDENTITY_CHAIN, SignalRule, parse_condition
from eventyard.taxonomy import TAXONOMY, closest_canonical, near_miss

# The raw contract's event name rule (contract/model.py).
_EVENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]{0,254}$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def snake_case(name: str) -> str:
    return _CAMEL.sub("_", name).replace("-", "_").replace(".", "_").replace(":", "_").lower()


def default_native(platform: str, name: str) -> str | None:
    """The name a CRM gets by default: the signal's own, else its snake_case form."""
    spec = PLATFORMS[platform]
    for candidate in (name, snake_case(name)):
        if spec.name_problem(candidate) is None:
            return candidate
    return None


def signal_targets(
    name: str, signal: Signal, destinations: Mapping[str, Destination]
) -> dict[str, str]:
    """Enabled destination -> native name the derived event is sent under (unlisted or
    invalid ones left out; lint reports those)."""
    out: dict[str, str] = {}
    for dest_name, dest in destinations.items():
        if not dest.enabled:
            continue
        platform = platform_of(dest_name, dest) or "generic"
        if dest.klass == "warehouse" and dest.events == "all":
            out[dest_name] = name
        elif signal.send_to is not None:
            native = signal.send_to.get(dest_name)
            if native is not None and PLATFORMS[platform].name_problem(native) is None:
                out[dest_name] = native
        elif dest.klass == "crm":
            native = default_native(platform, name)
            if native is not None:
                out[dest_name] = native
    return out


def lint_signals(
    signals: Mapping[str, Signal], destinations: Mapping[str, Destination], smap: SourceMap,
    aliases: Mapping[str, str] | None = None,
) -> list[PolicyProblem]:
    aliases = aliases or {}
    problems: list[PolicyProblem] = []
    if signals and not any(d.enabled and d.klass == "warehouse" and d.events == "all"
                           for d in destinations.values()):
        problems.append(smap.problem(
            ("signals",), "signals need an enabled warehouse destination with events: all "
            "(the signals processor reads its records)"))
    for name, signal in signals.items():
        base = ("signals", name)
        if not _EVENT_NAME.fullmatch(name):
            problems.append(smap.problem(base, "a signal name must be a valid event name "
                                         "(letters, digits and _ . : -, starting with a letter)"))
        elif name in TAXONOMY:
            problems.append(smap.problem(
                base, "is a canonical event; a derived event needs a name of its own"))
        elif name in aliases:
            problems.append(smap.problem(
                base, f"is an alias of {aliases[name]}; a derived event needs a name of its own"))
        elif (meant := near_miss(name)) is not None:
            problems.append(smap.problem(
                base, f"the router would read this as a misspelt {meant}; choose another name"))
        for i, counted in enumerate(signal.events):
            where = (*base, "events", i)
            if counted in signals:
                problems.append(smap.problem(where, "signals do not count other signals"))
            elif counted in aliases:
                problems.append(smap.problem(
                    where, f"is an alias: the router renames it to {aliases[counted]} before "
                    f"the warehouse, so count {aliases[counted]}", "unknown_event"))
            elif counted not in TAXONOMY:
                guess = closest_canonical(counted)
                if guess is not None:
                    problems.append(smap.problem(
                        where, f"not a canonical event; did you mean {guess}?",
                        "unknown_event"))
                elif not _EVENT_NAME.fullmatch(counted):
                    problems.append(smap.problem(where, "not a valid event name"))
        if tuple(signal.per) != IDENTITY_CHAIN[: len(signal.per)] or not signal.per:
            problems.append(smap.problem(
                (*base, "per"), "must be a prefix of [userId, anonymousId, externalId]: the "
                "warehouse topic is keyed by the first of them an event carries, so only a "
                "prefix keeps one identity's events in one partition"))
        problems += _lint_targets(name, signal, destinations, smap)
    return problems


def _lint_targets(
    name: str, signal: Signal, destinations: Mapping[str, Destination], smap: SourceMap
) -> list[PolicyProblem]:
    problems: list[PolicyProblem] = []
    base = ("signals", name)
    if signal.send_to is not None:
        for dest_name, native in signal.send_to.items():
            where = (*base, "send_to", dest_name)
            dest = destinations.get(dest_name)
            if dest is None:
                problems.append(smap.problem(
                    where, "not a destination of this policy", "unknown_platform"))
                continue
            platform = platform_of(dest_name, dest) or "generic"
            bad = PLATFORMS[platform].name_problem(native)
            if bad:
                problems.append(smap.problem(
                    where, f"native name {native!r}: {bad}", "native_name"))
        return problems
    for dest_name, dest in destinations.items():
        if dest.enabled and dest.klass == "crm":
            platform = platform_of(dest_name, dest) or "generic"
            if default_native(platform, name) is None:
                problems.append(smap.problem(
                    base, f"{dest_name} accepts neither {name!r} nor {snake_case(name)!r}; "
                    "name it under send_to"))
    return problems


def valid_signals(raw: object) -> dict[str, Signal]:
    """The entries of a `signals:` section that are well-formed on their own (the rest are
    reported by the schema), so one run lints every signal."""
    if not isinstance(raw, dict):
        return {}
    valid = {}
    for name, spec in raw.items():
        try:
            valid[str(name)] = Signal.model_validate(spec)
        except ValidationError:
            continue
    return valid


def compile_rule(name: str, signal: Signal) -> SignalRule:
    kind, threshold = parse_condition(signal.when)
    return SignalRule(
        name=name,
        events=frozenset(signal.events),
        kind=kind,
        threshold=threshold,
        window_ms=duration_ms(signal.within),
        per=tuple(signal.per),
        fire=signal.fire,
        grace_ms=duration_ms(signal.grace),
        condition=signal.when.strip(),
        within=signal.within,
    )
