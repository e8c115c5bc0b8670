"""Counting for the demo, apart from any I/O or rendering so it can be tested on its own.

Two independent sources are counted and then reconciled:
- the topics, read back record by record (`Tally`): what actually landed where;
- the worker's Prometheus samples (`WorkerMetrics`): what the worker says it did.
Duplicates leave no record anywhere, so the topics alone cannot prove
`consumed = routed events + dead letters + duplicates`; the metric supplies the
duplicates and every other term is checked against both sources (`reconcile`).
"""

from __future__ import annotations

import math
import re
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import orjson

from eventyard.contract.headers import H_DESTINATION, H_REASON

ROLES = ("raw", "ads", "crm", "warehouse", "dlq")
# The events the view uses to show one canonical name becoming many native ones.
SHOWCASE = ("SignUp", "Purchase", "LeadCaptured", "StartTrial")


class RecordLike(Protocol):
    @property
    def value(self) -> bytes | None: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...
    @property
    def timestamp(self) -> int: ...


# --- latency -------------------------------------------------------------------------


class Latency:
    """Milliseconds, counted at 1 ms resolution (bounded memory for any run length), plus
    a window of recent samples for a live figure that reacts to what happens now."""

    def __init__(self, window_ms: int = 5000) -> None:
        self.all: Counter[int] = Counter()
        self.window_ms = window_ms
        self.recent: deque[tuple[int, int]] = deque()  # (record timestamp, latency ms)

    def add(self, at_ms: int, latency_ms: int) -> None:
        latency_ms = max(0, latency_ms)
        self.all[latency_ms] += 1
        self.recent.append((at_ms, latency_ms))
        while self.recent and self.recent[0][0] < at_ms - self.window_ms:
            self.recent.popleft()

    def quantile(self, q: float, *, recent: bool = False) -> int | None:
        if recent:
            return _quantile(Counter(ms for _, ms in self.recent), q)
        return _quantile(self.all, q)


def _quantile(counts: Counter[int], q: float) -> int | None:
    total = sum(counts.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    return None  # pragma: no cover


def parse_time_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


# --- the topics ----------------------------------------------------------------------


@dataclass
class Sample:
    score: int
    key: bytes | None
    headers: dict[str, str]
    value: bytes | None
    record: dict[str, Any] | None  # parsed value of an output record


@dataclass
class Tally:
    """Records read back from the demo's topics. `topics` maps topic name → role; records
    timestamped before `since_ms` belong to an earlier run on a shared broker and are
    ignored."""

    topics: Mapping[str, str]
    since_ms: int = 0
    counts: Counter[str] = field(default_factory=Counter)  # role → records
    destinations: Counter[str] = field(default_factory=Counter)
    classes: dict[str, str] = field(default_factory=dict)  # destination → class
    natives: dict[str, Counter[str]] = field(default_factory=dict)  # destination → names
    mapping: dict[str, dict[str, str]] = field(default_factory=dict)  # canonical → dest → native
    dead_letters: Counter[str] = field(default_factory=Counter)
    policy_versions: Counter[str] = field(default_factory=Counter)  # per routed event
    latency: Latency = field(default_factory=Latency)
    samples: dict[str, Sample] = field(default_factory=dict)
    ignored: int = 0

    def add_all(self, records: Mapping[str, Iterable[RecordLike]]) -> None:
        for topic, recs in records.items():
            for rec in recs:
                self.add(topic, rec)

    def add(self, topic: str, rec: RecordLike) -> None:
        role = self.topics[topic]
        if rec.timestamp < self.since_ms:
            self.ignored += 1
            return
        self.counts[role] += 1
        if role == "raw":
            return
        headers = {k: v.decode(errors="replace") for k, v in rec.headers}
        if role == "dlq":
            reason = headers.get(H_REASON, "?")
            self.dead_letters[reason] += 1
            self._offer(role, 2 if reason.startswith("contract.") else 1, rec, headers, None)
            return
        out: dict[str, Any] = orjson.loads(rec.value or b"{}")
        destination = str(out.get("destination") or headers.get(H_DESTINATION, "?"))
        name, event = str(out.get("name")), str(out.get("event"))
        self.destinations[destination] += 1
        self.classes.setdefault(destination, role)
        self.natives.setdefault(destination, Counter())[name] += 1
        self.mapping.setdefault(event, {})[destination] = name
        if role == "warehouse":
            self.policy_versions[str(out.get("policyVersion"))] += 1
            received = out.get("receivedAt")
            if isinstance(received, str):
                self.latency.add(rec.timestamp, rec.timestamp - parse_time_ms(received))
        self._offer(role, _sample_score(role, out), rec, headers, out)

    def _offer(self, role: str, score: int, rec: RecordLike, headers: dict[str, str],
               out: dict[str, Any] | None) -> None:
        best = self.samples.get(role)
        if best is None or score > best.score:
            self.samples[role] = Sample(score, rec.key, headers, rec.value, out)

    @property
    def routed_events(self) -> int:
        """One warehouse record per routed event (the warehouse takes `events: all`)."""
        return self.counts["warehouse"]

    @property
    def output_records(self) -> int:
        return self.counts["ads"] + self.counts["crm"] + self.counts["warehouse"]

    def examples(self, limit: int = 4) -> list[tuple[str, list[tuple[str, str]]]]:
        """[(canonical, [(destination, native), …])] for the showcase events seen so far,
        ads platforms first because their renames are the most telling."""
        order = {"ads": 0, "crm": 1, "warehouse": 2}
        out = []
        for event in SHOWCASE:
            dests = self.mapping.get(event)
            if not dests:
                continue
            pairs = sorted(dests.items(), key=lambda kv: (
                order.get(self.classes.get(kv[0], ""), 3), -self.destinations[kv[0]]))
            out.append((event, [(d, n) for d, n in pairs if self.classes.get(d) != "warehouse"]))
        return out[:limit]


def _sample_score(role: str, out: dict[str, Any]) -> int:
    """Which record best shows its topic: hashed PII on ads, a renamed event, a warehouse
    record whose routedTo has both deliveries and a telling skip reason."""
    user = out.get("user") or {}
    score = ("email" in user) * 2 + (out.get("name") != out.get("event"))
    if role == "ads":
        score += (out.get("destination") == "meta") + (out.get("event") == "Purchase")
    elif role == "crm":
        score += out.get("event") == "SignUp"
    elif role == "warehouse":  # sent somewhere, and skipped elsewhere for several reasons
        routed = [r for r in (out.get("routedTo") or {}).values() if isinstance(r, dict)]
        reasons = {r.get("reason") for r in routed} - {None}
        score += len(reasons) * 2 + any(r.get("status") == "sent" for r in routed)
    return score


# --- the worker's metrics ------------------------------------------------------------

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_sample(key: str) -> tuple[str, dict[str, str]]:
    m = _SAMPLE.match(key)
    if m is None:
        return key, {}
    return m["name"], dict(_LABEL.findall(m["labels"] or ""))


@dataclass
class WorkerMetrics:
    """The few series the demo needs, from `WorkerProcess.metrics()` samples."""

    consumed: int = 0
    unique: int = 0
    duplicates: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    routed: Counter[str] = field(default_factory=Counter)  # destination → records
    skipped: Counter[str] = field(default_factory=Counter)  # reason → (destination, event)s
    policy_version: str | None = None
    reloads: Counter[str] = field(default_factory=Counter)
    stale: bool = False  # the file on disk was rejected; an older version keeps routing
    processing: list[tuple[float, float]] = field(default_factory=list)  # (le, cumulative)
    classes: dict[str, str] = field(default_factory=dict)  # destination → class
    lag: int = 0  # records behind the high watermark, all partitions

    @classmethod
    def from_samples(cls, samples: Mapping[str, float]) -> WorkerMetrics:
        m = cls()
        for key, value in samples.items():
            name, labels = parse_sample(key)
            n = round(value)
            if name == "eventyard_events_consumed_total":
                m.consumed = n
            elif name == "eventyard_events_unique_total":
                m.unique = n
            elif name == "eventyard_duplicates_total":
                m.duplicates = n
            elif name == "eventyard_dead_letters_total":
                m.dead_letters[labels.get("reason", "?")] += n
            elif name == "eventyard_events_routed_total":
                m.routed[labels.get("destination", "?")] += n
                m.classes[labels.get("destination", "?")] = labels.get("class", "?")
            elif name == "eventyard_consumer_lag":
                m.lag += n
            elif name == "eventyard_events_skipped_total":
                m.skipped[labels.get("reason", "?")] += n
            elif name == "eventyard_policy_info" and value == 1:
                m.policy_version = labels.get("version")
            elif name == "eventyard_policy_stale":
                m.stale = value == 1
            elif name == "eventyard_policy_reloads_total":
                m.reloads[labels.get("result", "?")] += n
            elif name == "eventyard_processing_seconds_bucket":
                m.processing.append((float(labels.get("le", "inf")), value))
        m.processing.sort()
        return m

    @property
    def dead(self) -> int:
        return sum(self.dead_letters.values())

    @classmethod
    def merged(cls, workers: Sequence[WorkerMetrics]) -> WorkerMetrics:
        """Counts of several workers of one group added up (`eventyard top`); the policy
        version is shown only when every worker runs the same one."""
        m = cls()
        versions = {w.policy_version for w in workers}
        m.policy_version = versions.pop() if len(versions) == 1 else None
        by_le: dict[float, float] = {}
        for w in workers:
            m.consumed += w.consumed
            m.unique += w.unique
            m.duplicates += w.duplicates
            m.dead_letters.update(w.dead_letters)
            m.routed.update(w.routed)
            m.skipped.update(w.skipped)
            m.reloads.update(w.reloads)
            m.classes.update(w.classes)
            m.stale = m.stale or w.stale
            m.lag += w.lag
            for le, count in w.processing:
                by_le[le] = by_le.get(le, 0.0) + count
        m.processing = sorted(by_le.items())
        return m

    def processing_quantile(self, q: float) -> float | None:
        """Seconds, interpolated within the histogram bucket like PromQL's
        histogram_quantile: an estimate, good to the bucket's width."""
        buckets = self.processing
        if not buckets or buckets[-1][1] == 0:
            return None
        rank = q * buckets[-1][1]
        prev_le, prev_count = 0.0, 0.0
        for le, count in buckets:
            if count >= rank:
                if math.isinf(le):
                    return prev_le
                share = (rank - prev_count) / (count - prev_count) if count > prev_count else 1.0
                return prev_le + (le - prev_le) * share
            prev_le, prev_count = le, count
        return prev_le  # pragma: no cover


# --- reconciliation ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


def _eq(name: str, left: int, right: int, detail: str) -> Check:
    return Check(name, left == right, f"{detail}: {left:,} vs {right:,}")


def reconcile(
    produced: int,
    tally: Tally,
    metrics: WorkerMetrics,
    *,
    sent_duplicates: int | None = None,
    sent_malformed: int | None = None,
) -> list[Check]:
    """Every way the demo's numbers must agree. The first check is the headline."""
    t, m = tally, metrics
    derived_dups = t.counts["raw"] - t.routed_events - t.counts["dlq"]
    checks = [
        Check("consumed = routed events + dead letters + duplicates",
              t.counts["raw"] == t.routed_events + t.counts["dlq"] + m.duplicates
              and m.consumed == m.unique + m.dead + m.duplicates,
              f"topics {t.counts['raw']:,} = {t.routed_events:,} + {t.counts['dlq']:,} + "
              f"{m.duplicates:,}; metrics {m.consumed:,} = {m.unique:,} + {m.dead:,} + "
              f"{m.duplicates:,}"),
        _eq("raw topic holds every record produced", t.counts["raw"], produced,
            "raw records vs produced"),
        _eq("worker consumed every raw record", m.consumed, t.counts["raw"],
            "eventyard_events_consumed_total vs raw records"),
        _eq("one warehouse record per routed event", t.routed_events, m.unique,
            "warehouse records vs eventyard_events_unique_total"),
        Check("dead letters match, reason by reason", t.dead_letters == m.dead_letters,
              f"dlq records {t.counts['dlq']:,} vs eventyard_dead_letters_total {m.dead:,}"),
        _eq("duplicates add up", derived_dups, m.duplicates,
            "raw − warehouse − dlq vs eventyard_duplicates_total"),
    ]
    mismatched = sorted(d for d in set(t.destinations) | set(m.routed)
                        if t.destinations[d] != m.routed[d])
    checks.append(Check(
        "every destination's records match the worker's count", not mismatched,
        "all equal" if not mismatched else "differ: " + ", ".join(
            f"{d} {t.destinations[d]:,} vs {m.routed[d]:,}" for d in mismatched)))
    if sent_duplicates is not None:
        checks.append(_eq("every duplicate copy sent was caught", m.duplicates, sent_duplicates,
                          "duplicates caught vs copies sent"))
    if sent_malformed is not None:
        checks.append(_eq("every malformed record was dead-lettered", t.counts["dlq"],
                          sent_malformed, "dead letters vs malformed records sent"))
    return checks


# --- rates ---------------------------------------------------------------------------


class Rate:
    """Per-second rate of a growing count over the last `window_s` seconds."""

    def __init__(self, window_s: float = 3.0) -> None:
        self.window_s = window_s
        self.points: deque[tuple[float, int]] = deque()

    def update(self, now: float, value: int) -> None:
        self.points.append((now, value))
        while len(self.points) > 2 and self.points[1][0] <= now - self.window_s:
            self.points.popleft()

    @property
    def per_second(self) -> float:
        if len(self.points) < 2:
            return 0.0
        (t0, v0), (t1, v1) = self.points[0], self.points[-1]
        return (v1 - v0) / (t1 - t0) if t1 > t0 else 0.0
