"""Rules that need the taxonomy or platform facts. Every rule reports, none stops early."""

from __future__ import annotations

from collections.abc import Mapping

from eventyard.errors import PolicyProblem
from eventyard.policy.platforms import PII_MODES, PLATFORMS
from eventyard.policy.schema import Destination
from eventyard.policy.yamlsource import SourceMap
from eventyard.taxonomy import TAXONOMY, closest_canonical


def platform_of(name: str, dest: Destination) -> str | None:
    if dest.platform is not None:
        return dest.platform
    return name if name in PLATFORMS else None


def _canonical_problem(name: str) -> str | None:
    if name in TAXONOMY:
        return None
    guess = closest_canonical(name)
    return "unknown canonical event" + (f"; did you mean {guess}?" if guess else "")


def lint(
    destinations: Mapping[str, Destination], smap: SourceMap, has_hmac_key: bool
) -> list[PolicyProblem]:
    problems: list[PolicyProblem] = []
    for name, dest in destinations.items():
        base = ("destinations", name)
        platform = platform_of(name, dest)
        if platform is None:
            problems.append(
                smap.problem(base, "not a known platform: set platform: (e.g. generic)")
            )
            continue
        expected = PLATFORMS[platform].klass
        if expected != "any" and dest.klass != expected:
            problems.append(
                smap.problem((*base, "class"), f"{platform} destinations are class {expected}")
            )
        if dest.pii not in PII_MODES[dest.klass]:
            allowed = "|".join(PII_MODES[dest.klass])
            problems.append(
                smap.problem(
                    (*base, "pii"), f"{dest.klass} destinations take pii: {allowed}, not {dest.pii}"
                )
            )
        if dest.pii == "hmac" and not has_hmac_key:
            problems.append(
                smap.problem((*base, "pii"), "hmac needs a key: set EVENTYARD_HMAC_KEY")
            )
        if isinstance(dest.events, dict):
            for canonical, native in dest.events.items():
                where = (*base, "events", canonical)
                bad = _canonical_problem(canonical)
                if bad:
                    problems.append(smap.problem(where, bad))
                native_bad = PLATFORMS[platform].name_problem(native)
                if native_bad:
                    problems.append(smap.problem(where, f"native name {native!r}: {native_bad}"))
            if dest.exclude:
                problems.append(
                    smap.problem(
                        (*base, "exclude"), "exclude applies to events: all; omit the event instead"
                    )
                )
        else:
            # `all` sends canonical names: only sound where the platform accepts them.
            rejected = [
                c for c in TAXONOMY
                if c not in dest.exclude and PLATFORMS[platform].name_problem(c)
            ]
            if rejected:
                why = PLATFORMS[platform].name_problem(rejected[0])
                problems.append(
                    smap.problem(
                        (*base, "events"),
                        f"events: all sends canonical names, and {platform} rejects "
                        f"{len(rejected)} of them (e.g. {rejected[0]!r}: {why}); "
                        "map canonical -> native names instead",
                    )
                )
        for i, canonical in enumerate(dest.exclude):
            bad = _canonical_problem(canonical)
            if bad:
                problems.append(smap.problem((*base, "exclude", i), bad))
        if isinstance(dest.properties, list) and dest.klass == "ads" and not dest.properties:
            problems.append(smap.problem((*base, "properties"), "use none for no properties"))
    return problems
