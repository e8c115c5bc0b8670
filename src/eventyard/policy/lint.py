"""Rules that need the taxonomy or platform facts. Every rule reports, none stops early."""

from __future__ import annotations

import re
from collections.abc import Mapping

from eventyard.errors import PolicyProblem
from eventyard.platforms import PII_MODES, PLATFORMS
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
                smap.problem(
                    base, "not a known platform: set platform: (e.g. generic)", "unknown_platform"
                )
            )
            continue
        expected = PLATFORMS[platform].klass
        if expected != "any" and dest.klass != expected:
            problems.append(
                smap.problem(
                    (*base, "class"), f"{platform} destinations are class {expected}",
                    "wrong_class",
                )
            )
        if dest.pii not in PII_MODES[dest.klass]:
            allowed = "|".join(PII_MODES[dest.klass])
            problems.append(
                smap.problem(
                    (*base, "pii"),
                    f"{dest.klass} destinations take pii: {allowed}, not {dest.pii}",
                    "pii_mode",
                )
            )
        if dest.pii == "hmac" and not has_hmac_key:
            problems.append(
                smap.problem(
                    (*base, "pii"), "hmac needs a key: set EVENTYARD_HMAC_KEY", "hmac_key_missing"
                )
            )
        if isinstance(dest.events, dict):
            for canonical, native in dest.events.items():
                where = (*base, "events", canonical)
                bad = _canonical_problem(canonical)
                if bad:
                    problems.append(smap.problem(where, bad, "unknown_event"))
                elif dest.klass == "ads" and TAXONOMY[canonical].ads_protected:
                    problems.append(smap.problem(
                        where, f"{canonical} is a protected event (refunds, churn and product "
                        "usage do not belong on an ad platform); this mapping sends it to "
                        f"{name} all the same", "protected_to_ads", warning=True,
                    ))
                native_bad = PLATFORMS[platform].name_problem(native)
                if native_bad:
                    problems.append(smap.problem(
                        where, f"native name {native!r}: {native_bad}", "native_name"
                    ))
            if dest.exclude:
                problems.append(
                    smap.problem(
                        (*base, "exclude"),
                        "exclude applies to events: all; omit the event instead",
                        "exclude_with_map",
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
                        "all_names_rejected",
                    )
                )
        for i, canonical in enumerate(dest.exclude):
            bad = _canonical_problem(canonical)
            if bad:
                problems.append(smap.problem((*base, "exclude", i), bad, "unknown_event"))
        if dest.klass == "ads" and dest.properties == "all":
            problems.append(smap.problem(
                (*base, "properties"),
                "ads destinations take an explicit list of properties keys, not all: "
                "properties can hold raw PII (emails, names) that ads must never get",
                "ads_properties_all",
            ))
        if dest.url_params and dest.klass != "ads":
            problems.append(smap.problem(
                (*base, "url_params"),
                f"url_params applies to ads destinations only; {dest.klass} gets URLs whole",
                "bad_value",
            ))
        if isinstance(dest.properties, list) and dest.klass == "ads" and not dest.properties:
            problems.append(smap.problem(
                (*base, "properties"), "use none for no properties", "empty_properties"
            ))
        if not dest.enabled:
            problems.append(smap.problem(
                (*base, "enabled"), f"{name} is disabled: it receives nothing until enabled",
                "disabled", warning=True,
            ))
    return problems


# What a producer may send as an event name (contract/model.py's pattern for `event`).
_EVENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]*$")


def lint_aliases(aliases: Mapping[str, str], smap: SourceMap) -> list[PolicyProblem]:
    """aliases: sent name -> canonical name. Duplicate keys are the YAML reader's finding."""
    problems: list[PolicyProblem] = []
    for sent, canonical in aliases.items():
        where = ("aliases", sent)
        if sent in TAXONOMY:
            problems.append(smap.problem(
                where, f"{sent} is a canonical event; an alias may not shadow it",
                "alias_shadows",
            ))
        elif len(sent) > 255 or not _EVENT_NAME.fullmatch(sent):
            problems.append(smap.problem(
                where, f"{sent!r} is not an event name a producer can send (a letter, then "
                "letters, digits, _ . : or -)", "bad_alias",
            ))
        bad = _canonical_problem(canonical)
        if bad:
            problems.append(smap.problem(where, f"{canonical!r}: {bad}", "unknown_event"))
    return problems
