"""One identity's window state under one rule, and its transitions. Pure and small: the
engine (engine.py) holds one of these per (rule, identity).

`>= N` keeps only the N newest counted event times inside the window (with a fingerprint
of each eventId, so a duplicate record is not counted twice): the count reaches N exactly
when the N-th newest time is inside the window, so nothing older is needed. Memory per
identity and rule is therefore at most N pairs of ints, whatever the traffic.

`= 0` keeps one anchor time (the last counted event, or the first event seen) and whether
the silence after it has fired yet.

Time is event time. An identity's "now" is the newest event time seen for it: a late
event counts if it falls inside the window ending there, and is ignored otherwise.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from eventyard.signals.rules import SignalRule


@dataclass(slots=True)
class AtLeast:
    """`>= N`: the newest counted times inside the window (ascending), capped at N."""

    now: int = 0
    quiet_until: int = 0  # once_per_window: no firing before this event time
    times: list[int] = field(default_factory=list)
    fps: list[int] = field(default_factory=list)

    def step(self, rule: SignalRule, ts: int, fp: int) -> tuple[bool, int | None]:
        """Count one event. Returns (state changed, firing time or None)."""
        if fp in self.fps:
            return False, None  # a duplicate record of an event already counted
        now = max(self.now, ts)
        horizon = now - rule.window_ms
        if ts <= horizon:
            return False, None  # late, and outside the window ending at the newest event
        drop = bisect_right(self.times, horizon)
        if drop:
            del self.times[:drop], self.fps[:drop]
        before = len(self.times)
        at = bisect_right(self.times, ts)
        self.times.insert(at, ts)
        self.fps.insert(at, fp)
        if len(self.times) > rule.threshold:
            del self.times[0], self.fps[0]  # the N newest decide; older ones never matter
        self.now = now
        n = rule.threshold
        if rule.fire == "every_crossing":
            return True, now if before < n <= len(self.times) else None
        if len(self.times) >= n and now >= self.quiet_until:
            self.quiet_until = now + rule.window_ms
            return True, now
        return True, None

    def idle(self, rule: SignalRule, watermark: int) -> bool:
        """Forgettable: nothing it holds can matter to an event within `grace` of the
        partition's watermark."""
        cutoff = watermark - rule.grace_ms
        newest = self.times[-1] if self.times else self.now
        return newest + rule.window_ms <= cutoff and self.quiet_until <= cutoff

    def encode(self) -> list[object]:
        return [0, self.now, self.quiet_until, self.times, self.fps]


@dataclass(slots=True)
class Silence:
    """`= 0`: the window opened at `anchor` closes at anchor + window; fired once closed."""

    anchor: int
    armed: bool = True

    def deadline(self, rule: SignalRule) -> int:
        return self.anchor + rule.window_ms

    def step(self, rule: SignalRule, ts: int, counted: bool) -> tuple[bool, int | None]:
        """One event of the identity. Returns (state changed, deadline fired now or None)."""
        deadline = self.deadline(rule)
        if self.armed:
            if ts > deadline:
                # Its own later event proves the window closed empty: fire for that
                # window, and this event opens the next one.
                self.anchor = ts
                return True, deadline
            if counted and ts > self.anchor:
                self.anchor = ts
                return True, None
            return False, None
        if ts > deadline:  # the first activity after a fired window opens a new one
            self.anchor, self.armed = ts, True
            return True, None
        return False, None  # a late or repeated event of the window that already fired

    def close(self, rule: SignalRule, deadline: int) -> bool:
        """The watermark passed `deadline` (+ grace): fire if it is still this window's."""
        if self.armed and self.deadline(rule) == deadline:
            self.armed = False
            return True
        return False

    def idle(self, rule: SignalRule, watermark: int) -> bool:
        # Kept one window past firing, so a repeated record of that window is recognised.
        return not self.armed and self.deadline(rule) + rule.window_ms + rule.grace_ms <= watermark

    def encode(self) -> list[object]:
        return [1, self.anchor, self.armed]


State = AtLeast | Silence


def decode_state(data: object) -> State | None:
    """The inverse of `encode`; None for anything else (an entry from a newer format)."""
    if not isinstance(data, list) or not data:
        return None
    try:
        if data[0] == 0 and len(data) == 5:
            times, fps = data[3], data[4]
            if len(times) != len(fps):
                return None
            return AtLeast(int(data[1]), int(data[2]), [int(t) for t in times],
                           [int(f) for f in fps])
        if data[0] == 1 and len(data) == 3:
            return Silence(int(data[1]), bool(data[2]))
    except (TypeError, ValueError):
        return None
    return None
