"""The shape of one platform entry, and the checks that run when the registry is built.

A registry that would route a platform without knowing how to hash its PII never loads:
`build_registry` raises `PlatformRegistryError` naming the platform and what it lacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, get_args

from eventyard.errors import PlatformRegistryError

Klass = Literal["ads", "crm", "warehouse", "any"]
# How one identity field is normalised before hashing; docs/pii.md states each rule.
Style = Literal[
    "email_plain", "email_google", "email_reddit", "phone_digits", "phone_e164", "name",
    "city", "state", "zip", "country", "external_id", "external_id_lower", "dob", "gender",
]  # fmt: skip
STYLES: frozenset[str] = frozenset(get_args(Style))
KLASSES: frozenset[str] = frozenset(get_args(Klass))


@dataclass(frozen=True, slots=True)
class PiiRules:
    """Which identity fields a platform receives hashed, and the normalisation of each.

    `others`: the style for any further identity field given (CRM, warehouse and generic
    destinations hash every field they get); None means fields not listed are never sent.
    """

    fields: Mapping[str, Style]
    others: Style | None = None


def pii_rules(others: Style | None = None, **fields: Style) -> PiiRules:
    return PiiRules(MappingProxyType(dict(fields)), others)


# eq=False: platforms are compared by identity (their rules hold unhashable mappings).
@dataclass(frozen=True, slots=True, eq=False)
class Platform:
    """Everything eventyard knows about one destination platform."""

    name: str
    klass: Klass
    # Older events are not sent (the platform's own window); None: no limit.
    max_age: str | None
    # Top-level context fields the platform takes raw; click ids are filtered separately.
    context: tuple[str, ...]
    click_ids: tuple[str, ...]
    check_name: Callable[[str], str | None]
    pii: PiiRules | None
    # The platform's public page its name and PII rules come from (None: eventyard's own
    # record format, as for the warehouse).
    docs: str | None
    # What the platform can match a conversion on: any one group, every field of it present
    # in the record (a hashed identity field, a click id or a context field). An ads record
    # with none is not sent (skip reason no_match_keys). Empty: every record is sent.
    match_keys: tuple[tuple[str, ...], ...] = ()

    @property
    def rules(self) -> PiiRules:
        """The PII rules; build_registry guarantees them for every registered platform."""
        if self.pii is None:
            raise PlatformRegistryError(f"platform {self.name!r} has no PII rules")
        return self.pii

    def name_problem(self, name: str) -> str | None:
        """Why the platform would reject `name` as an event name, or None."""
        return self.check_name(name)


def _problems(p: Platform) -> list[str]:
    found = []
    if p.klass not in KLASSES:
        found.append(f"class {p.klass!r} is not one of {sorted(KLASSES)}")
    if p.pii is None:
        found.append("has no PII rules (add its field -> normalisation map)")
    else:
        styles = [*p.pii.fields.values(), *([p.pii.others] if p.pii.others else [])]
        found += [f"PII style {s!r} is not one of {sorted(STYLES)}" for s in styles
                  if s not in STYLES]
        if not p.pii.fields and p.pii.others is None:
            found.append("PII rules hash no field at all")
    if p.klass == "ads" and not p.match_keys:
        found.append("ads platform names no match keys (the identifiers it matches on)")
    sent = {*(p.pii.fields if p.pii else ()), *p.click_ids, *p.context}
    found += [f"match key {k!r} is not a field the platform is sent" for group in p.match_keys
              for k in group if k not in sent]
    if any(not group for group in p.match_keys):
        found.append("a match-key group is empty")
    if p.klass in ("ads", "crm") and not (p.docs or "").startswith("https://"):
        found.append("docs must be the https address of the platform's own page")
    return found


def build_registry(platforms: Iterable[Platform]) -> Mapping[str, Platform]:
    """The read-only name -> Platform table; raises on the first inconsistent entry."""
    table: dict[str, Platform] = {}
    for p in platforms:
        if p.name in table:
            raise PlatformRegistryError(f"platform {p.name!r} is registered twice")
        problems = _problems(p)
        if problems:
            raise PlatformRegistryError(f"platform {p.name!r}: " + "; ".join(problems))
        table[p.name] = p
    return MappingProxyType(table)
