"""A compiled `signals:` entry of the policy, and the syntax of its condition.

A rule counts the events named in `events` per identity over a sliding window of event
time, and fires a derived event named `name` when its condition is met:

- `>= N` (and `> N`, read as `>= N+1`; `> 0` is `>= 1`): at least N counted events in the
  `window_ms` of event time ending at the identity's newest event.
- `= 0`: an identity seen before (any event of it) whose window closes without a counted
  event: no counted event in the `window_ms` after its last counted event (or after it was
  first seen).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# The warehouse topic is keyed by the first of these an event carries (routing/router.py
# identity_key), so one identity's events share a partition only when a rule counts per a
# prefix of this chain.
IDENTITY_CHAIN = ("userId", "anonymousId", "externalId")
MAX_THRESHOLD = 1000  # bounds the timestamps held per identity and rule

Kind = Literal["at_least", "none"]
Fire = Literal["once_per_window", "every_crossing"]

_CONDITION = re.compile(r"^\s*(>=|>|=)\s*(\d+)\s*$")


def parse_condition(text: str) -> tuple[Kind, int]:
    """'>= 3' -> ('at_least', 3); '> 0' -> ('at_least', 1); '= 0' -> ('none', 0)."""
    match = _CONDITION.fullmatch(text)
    if match is None:
        raise ValueError("must be '>= N', '> N' or '= 0'")
    op, n = match.group(1), int(match.group(2))
    if op == "=":
        if n != 0:
            raise ValueError("'=' takes 0 only (for an exact count use '>= N')")
        return "none", 0
    threshold = n + 1 if op == ">" else n
    if threshold < 1:
        raise ValueError("'>= 0' always holds; use '> 0' or '>= 1'")
    if threshold > MAX_THRESHOLD:
        raise ValueError(f"at most {MAX_THRESHOLD} (state holds that many timestamps per user)")
    return "at_least", threshold


@dataclass(frozen=True, slots=True)
class SignalRule:
    name: str  # the derived event's name
    events: frozenset[str]  # the events it counts
    kind: Kind
    threshold: int  # N of at_least; 0 for none
    window_ms: int
    per: tuple[str, ...]  # identity fields, first present wins (a prefix of IDENTITY_CHAIN)
    fire: Fire
    grace_ms: int  # `= 0` only: how long past a deadline late events may still cancel it
    condition: str  # as written in the policy, for display and the derived event
    within: str  # the window as written ("7d")

    def identity(self, ids: dict[str, str]) -> tuple[str, str] | None:
        for field in self.per:
            value = ids.get(field)
            if value:
                return field, value
        return None

    def describe(self) -> str:
        what = ", ".join(sorted(self.events))
        per = " else ".join(self.per)
        mode = "" if self.kind == "none" else f", fires {self.fire.replace('_', ' ')}"
        return f"{self.name}: {what} {self.condition} within {self.within} per {per}{mode}"
