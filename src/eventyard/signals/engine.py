"""The signal state of one input partition: every (rule, identity) window, the partition's
event-time watermark, and the deadlines of `= 0` rules. Pure; the processor restores it
from the changelog, feeds it records in offset order and writes back what changed.

The watermark is the newest event time seen in the partition. `= 0` rules fire on it: an
identity's window closes at anchor + window, and fires once the watermark passes that by
the rule's grace (or earlier, when the identity's own later event shows the window closed
empty). With no traffic in a partition its watermark stands still, so a silent partition
fires nothing: exactness is bounded by the gap between events in the partition.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from eventyard.signals.derived import Fired
from eventyard.signals.observed import Observed
from eventyard.signals.rules import SignalRule
from eventyard.signals.window import AtLeast, Silence, State, decode_state

Key = tuple[str, str, str]  # (rule, identity field, identity)
POSITION_KEY = b"\x00position"
_SEP = "\x1f"


def encode_key(key: Key) -> bytes:
    return _SEP.join(key).encode()


def decode_key(raw: bytes) -> Key | None:
    parts = raw.decode("utf-8", "replace").split(_SEP)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


class PartitionEngine:
    def __init__(
        self, rules: Sequence[SignalRule], names: Iterable[str] = (), source: str = ""
    ) -> None:
        self.rules = {r.name: r for r in rules}
        # Derived events come back through the warehouse: they never count or arm a rule.
        self.ignored = frozenset(names) | frozenset(self.rules)
        self.states: dict[Key, State] = {}
        self.watermark = 0
        self.offset: int | None = None  # next input offset to read, once known
        # The input topic the position is an offset in: a position written for another
        # topic (EVENTYARD_TOPIC_WAREHOUSE changed, state topic kept) is not used.
        self.source = source
        self._deadlines: list[tuple[int, int, Key]] = []  # (due, deadline, key)
        self._dirty: set[Key] = set()
        self._gone: set[Key] = set()

    def __len__(self) -> int:
        return len(self.states)

    # --- input -----------------------------------------------------------------------

    def observe(self, obs: Observed) -> list[Fired]:
        """One unique routed event, in partition order."""
        fired = self.advance(obs.time_ms)  # windows that closed before this event first
        if obs.event in self.ignored:
            return fired
        for rule in self.rules.values():
            who = rule.identity(obs.ids)
            if who is None:
                continue
            counted = obs.event in rule.events
            key = (rule.name, who[0], who[1])
            state = self.states.get(key)
            if rule.kind == "at_least":
                if not counted:
                    continue
                if not isinstance(state, AtLeast):
                    state = self.states[key] = AtLeast()
                changed, at = state.step(rule, obs.time_ms, obs.fp)
                if at is not None:
                    fired.append(Fired(rule.name, who[0], who[1], at, len(state.times),
                                       at - rule.window_ms))
            else:
                if not isinstance(state, Silence):
                    state = self.states[key] = Silence(obs.time_ms)
                    changed, closed = True, None
                else:
                    changed, closed = state.step(rule, obs.time_ms, counted)
                if closed is not None:
                    fired.append(_silence(rule, key, closed))
                if changed and state.armed:
                    deadline = state.deadline(rule)
                    heapq.heappush(self._deadlines, (deadline + rule.grace_ms, deadline, key))
            if changed:
                self._touch(key)
        return fired

    def advance(self, time_ms: int) -> list[Fired]:
        """Move the watermark to `time_ms` (never back) and fire `= 0` windows it closed."""
        if time_ms <= self.watermark:
            return []
        self.watermark = time_ms
        fired: list[Fired] = []
        heap = self._deadlines
        while heap and heap[0][0] <= time_ms:
            _, deadline, key = heapq.heappop(heap)
            rule = self.rules.get(key[0])
            state = self.states.get(key)
            if rule is not None and isinstance(state, Silence) and state.close(rule, deadline):
                fired.append(_silence(rule, key, deadline))
                self._touch(key)
        return fired

    def evict(self) -> int:
        """Forget windows nothing can change any more (bounded state); each becomes a
        tombstone in the changelog."""
        gone = [k for k, s in self.states.items()
                if (rule := self.rules.get(k[0])) is None or s.idle(rule, self.watermark)]
        for key in gone:
            del self.states[key]
            self._dirty.discard(key)
            self._gone.add(key)
        if len(self._deadlines) > 2 * len(self.states) + 1024:
            self._rebuild_deadlines()  # superseded deadlines are dropped lazily; bound them
        return len(gone)

    # --- changelog -------------------------------------------------------------------

    def _touch(self, key: Key) -> None:
        self._dirty.add(key)
        self._gone.discard(key)

    def take_changes(self) -> list[tuple[bytes, bytes | None]]:
        """Changelog entries for every window changed since the last call (None value:
        forgotten), then the position entry: written together in one record batch."""
        out: list[tuple[bytes, bytes | None]] = [
            (encode_key(k), orjson.dumps(self.states[k].encode())) for k in sorted(self._dirty)
        ]
        out += [(encode_key(k), None) for k in sorted(self._gone)]
        self._dirty.clear()
        self._gone.clear()
        out.append((POSITION_KEY, orjson.dumps({"offset": self.offset, "topic": self.source,
                                                "watermark": self.watermark})))
        return out

    def load(self, raw_key: bytes | None, value: bytes | None) -> None:
        """Apply one changelog entry (restore reads the partition in order)."""
        if raw_key is None:
            return
        if raw_key == POSITION_KEY:
            position: Any = _loads(value)
            if isinstance(position, dict) and position.get("topic", "") == self.source:
                offset = position.get("offset")
                self.offset = offset if isinstance(offset, int) else None
                self.watermark = max(self.watermark, int(position.get("watermark") or 0))
            return
        key = decode_key(raw_key)
        if key is None:
            return
        state = decode_state(_loads(value)) if value else None
        rule = self.rules.get(key[0])
        kind_ok = rule is not None and isinstance(
            state, AtLeast if rule.kind == "at_least" else Silence)
        if state is None or not kind_ok:
            self.states.pop(key, None)  # forgotten, or a rule removed or changed in kind
            return
        self.states[key] = state

    def restored(self) -> None:
        """After the last `load`: rebuild the deadline heap; drop pending changes."""
        for key, state in self.states.items():
            rule = self.rules[key[0]]
            if isinstance(state, AtLeast) and len(state.times) > rule.threshold:
                # The threshold went down since it was written: keep the newest N.
                keep = rule.threshold
                state.times, state.fps = state.times[-keep:], state.fps[-keep:]
        self._rebuild_deadlines()
        self._dirty.clear()
        self._gone.clear()

    def _rebuild_deadlines(self) -> None:
        self._deadlines = []
        for key, state in self.states.items():
            if isinstance(state, Silence) and state.armed:
                rule = self.rules[key[0]]
                deadline = state.deadline(rule)
                self._deadlines.append((deadline + rule.grace_ms, deadline, key))
        heapq.heapify(self._deadlines)


def _silence(rule: SignalRule, key: Key, deadline: int) -> Fired:
    return Fired(rule.name, key[1], key[2], deadline, 0, deadline - rule.window_ms)


def _loads(value: bytes | None) -> object:
    if not value:
        return None
    try:
        result: object = orjson.loads(value)
        return result
    except orjson.JSONDecodeError:
        return None
