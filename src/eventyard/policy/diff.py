"""What changes between two compiled policies, per canonical event and destination. Pure.

`eventyard diff-policy OLD NEW` prints it before a rollout, and the worker logs it on a
live reload instead of the whole policy summary, so the log says what the reload changed.
Compiled policies are compared, not YAML text: a reordered or re-commented file that routes
the same way diffs as empty, and `events: all` is compared by what it expands to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eventyard.policy.compiled import CompiledPolicy, Route, _duration


@dataclass(frozen=True, slots=True)
class EventChange:
    """One (canonical event, destination) whose outcome differs."""

    event: str
    destination: str
    kind: str  # "gained" | "lost" | "renamed"
    old: str  # native name, or the skip reason when not sent
    new: str

    def render(self) -> str:
        if self.kind == "renamed":
            return f"{self.event} → {self.destination}: {self.old} → {self.new}"
        if self.kind == "gained":
            return f"{self.event} → {self.destination}: + {self.new} (was {self.old})"
        return f"{self.event} → {self.destination}: - {self.old} (now {self.new})"


@dataclass(frozen=True, slots=True)
class RuleChange:
    """A setting of a destination (or of the whole policy, destination "defaults")."""

    destination: str
    rule: str  # class | pii | consent | max_age | destination | custom_events | dedup_window
    old: str
    new: str

    def render(self) -> str:
        return f"{self.destination}: {self.rule} {self.old} → {self.new}"


@dataclass(frozen=True, slots=True)
class PolicyDiff:
    old_version: str
    new_version: str
    rules: tuple[RuleChange, ...] = ()
    events: tuple[EventChange, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not self.rules and not self.events

    def counts(self) -> dict[str, int]:
        out = {"gained": 0, "lost": 0, "renamed": 0}
        for change in self.events:
            out[change.kind] += 1
        return out

    def headline(self) -> str:
        if self.empty:
            return "no routing change"
        c = self.counts()
        return (f"{len(self.rules)} rule change(s), {c['gained']} route(s) gained, "
                f"{c['lost']} lost, {c['renamed']} renamed")

    def lines(self) -> list[str]:
        return [r.render() for r in self.rules] + [e.render() for e in self.events]

    def log_text(self, limit: int = 12) -> str:
        """One log line's worth: the headline, then at most `limit` changes."""
        lines = self.lines()
        shown = "; ".join(lines[:limit])
        more = ""
        if len(lines) > limit:
            more = f"; … {len(lines) - limit} more (eventyard diff-policy)"
        return self.headline() + (f": {shown}{more}" if lines else "")


def _outcomes(policy: CompiledPolicy, event: str) -> dict[str, str | Route]:
    """destination -> its Route when sent, else the skip reason."""
    out: dict[str, str | Route] = dict(policy.skips.get(event, {}))
    for route in policy.routes.get(event, ()):
        out[route.destination] = route
    return out


def _rules_of(policy: CompiledPolicy) -> dict[str, dict[str, str]]:
    """destination -> its per-destination rules, read off any of its routes."""
    rules: dict[str, dict[str, str]] = {d: {"class": policy.classes.get(d, "?")}
                                        for d in policy.destinations}
    for routes in (*policy.routes.values(), policy.custom_routes):
        for r in routes:
            rules[r.destination].update(
                pii=r.pii,
                consent="required" if r.consent_required else "assumed",
                max_age=_duration(r.max_age_ms) if r.max_age_ms is not None else "none",
            )
    return rules


def diff_policies(old: CompiledPolicy, new: CompiledPolicy) -> PolicyDiff:
    rules: list[RuleChange] = []
    if old.custom_events != new.custom_events:
        rules.append(RuleChange("defaults", "custom_events", old.custom_events,
                                new.custom_events))
    if old.dedup_window_ms != new.dedup_window_ms:
        rules.append(RuleChange("defaults", "dedup_window", _duration(old.dedup_window_ms),
                                _duration(new.dedup_window_ms)))
    old_rules, new_rules = _rules_of(old), _rules_of(new)
    for dest in [*old.destinations, *(d for d in new.destinations if d not in old_rules)]:
        before, after = old_rules.get(dest), new_rules.get(dest)
        if before is None or after is None:
            rules.append(RuleChange(dest, "destination",
                                    "absent" if before is None else "enabled",
                                    "absent" if after is None else "enabled"))
            continue
        for rule in ("class", "pii", "consent", "max_age"):
            if rule in before and rule in after and before[rule] != after[rule]:
                rules.append(RuleChange(dest, rule, before[rule], after[rule]))
    events: list[EventChange] = []
    for event in sorted(set(old.routes) | set(new.routes)):
        was, now = _outcomes(old, event), _outcomes(new, event)
        for dest in sorted(set(was) | set(now)):
            a = was.get(dest, "not_in_policy")
            b = now.get(dest, "not_in_policy")
            if isinstance(a, Route) and isinstance(b, Route):
                if a.name != b.name:
                    events.append(EventChange(event, dest, "renamed", a.name, b.name))
            elif isinstance(b, Route):
                events.append(EventChange(event, dest, "gained", str(a), b.name))
            elif isinstance(a, Route):
                events.append(EventChange(event, dest, "lost", a.name, str(b)))
    return PolicyDiff(old.version, new.version, tuple(rules), tuple(events))
