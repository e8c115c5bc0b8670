"""Every metric name and label in one place (the README's metrics table).

Labels take bounded values only: destination and class come from the policy, reason from
the closed list in contract.reasons and the skip reasons in routing, result from a fixed
set, partition from the topic's partition count. Never an event name outside the taxonomy,
never a user value.
"""

from __future__ import annotations

import collections
from bisect import bisect_left
from functools import partial

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from eventyard.contract.reasons import WARNINGS

# Sub-millisecond (a batch of the pure core) up to tens of seconds (a stalled broker).
PROCESSING_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)
# Raw record produced to fetched: milliseconds live, up to an hour when a backlog drains.
FETCH_WAIT_BUCKETS = (*PROCESSING_BUCKETS, 60.0, 300.0, 900.0, 3600.0)
# Event time to publish: seconds for live traffic, days for backfills and stale clients.
EVENT_LAG_BUCKETS = (
    0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0, 604800.0,
)

SKIP_REASONS = ("not_in_policy", "excluded", "no_consent", "too_old", "custom_event",
                "no_match_keys")
RELOAD_RESULTS = ("applied", "rejected", "unchanged")


class Telemetry:
    """The worker's metrics, bound to one registry (tests make their own)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.events_consumed = Counter(
            "eventyard_events_consumed", "Raw records consumed from the raw topic.", registry=r
        )
        self.events_routed = Counter(
            "eventyard_events_routed",
            "Output records published, per destination.",
            ["destination", "class"],
            registry=r,
        )
        self.events_skipped = Counter(
            "eventyard_events_skipped",
            "Valid events a destination did not get, and why.",
            ["destination", "reason"],
            registry=r,
        )
        self.dead_letters = Counter(
            "eventyard_dead_letters",
            "Records sent to the dead-letter topic, per reason code.",
            ["reason"],
            registry=r,
        )
        self.warnings = Counter(
            "eventyard_warnings",
            "Routed events with a field corrected or dropped, per warning code "
            "(docs/reason-codes.md).",
            ["code"],
            registry=r,
        )
        self.events_rekeyed = Counter(
            "eventyard_events_rekeyed",
            "Raw records that took the keyed hop (their eventId's dedup partition is held "
            "by another worker) instead of the direct path.",
            registry=r,
        )
        self.duplicates = Counter(
            "eventyard_duplicates", "Events dropped as duplicates of an eventId.", registry=r
        )
        self.events_unique = Counter(
            "eventyard_events_unique",
            "Valid, non-duplicate events routed (each yields one warehouse record).",
            registry=r,
        )
        self.processing_seconds = Histogram(
            "eventyard_processing_seconds",
            "Record consumed to all its sends acknowledged.",
            buckets=PROCESSING_BUCKETS,
            registry=r,
        )
        self.fetch_wait_seconds = Histogram(
            "eventyard_fetch_wait_seconds",
            "Raw record's timestamp to this worker's loop taking it: time before the router "
            "works on it (producer linger, broker, fetch, client buffer, backlog). With "
            "processing_seconds it splits end-to-end latency into broker and router.",
            buckets=FETCH_WAIT_BUCKETS,
            registry=r,
        )
        self.event_lag_seconds = Histogram(
            "eventyard_event_lag_seconds",
            "Event timestamp to publish, per destination class.",
            ["class"],
            buckets=EVENT_LAG_BUCKETS,
            registry=r,
        )
        self.policy_info = Gauge(
            "eventyard_policy_info",
            "1 for the policy version this worker routes with.",
            ["version"],
            registry=r,
        )
        self.policy_reloads = Counter(
            "eventyard_policy_reloads",
            "Policy reload attempts by result.",
            ["result"],
            registry=r,
        )
        self.policy_stale = Gauge(
            "eventyard_policy_stale",
            "1 while the policy file on disk is rejected and an older version keeps routing.",
            registry=r,
        )
        self.consumer_lag = Gauge(
            "eventyard_consumer_lag",
            "Records behind the fetch high watermark, per assigned partition.",
            ["topic", "partition"],
            registry=r,
        )
        self.broker_up = Gauge(
            "eventyard_broker_up",
            "1 while the worker's last metadata check reached the broker, else 0 "
            "(consumer lag is withdrawn meanwhile: its last value would be stale).",
            registry=r,
        )
        self.dedup_ids = Gauge(
            "eventyard_dedup_ids", "eventIds held in the dedup window.", registry=r
        )
        self.batches = Counter(
            "eventyard_batches", "Batches processed (one flush and one commit each).", registry=r
        )
        for result in RELOAD_RESULTS:
            self.policy_reloads.labels(result=result)
        for code in WARNINGS:  # a closed list: every series exists from the start
            self.warnings.labels(code=code)

    def set_policy_version(self, version: str) -> None:
        self.policy_info.clear()
        self.policy_info.labels(version=version).set(1)


def observe_many(histogram: Histogram, amount: float, count: int) -> None:
    """`count` observations of one value at the cost of one.

    The worker observes every record of a batch with the batch's duration, ~10k times a
    second; prometheus_client has no weighted observe, and observe() in a loop was several
    percent of the worker's CPU. This touches the same two values observe() does (the sum
    and the first bucket whose bound is >= amount); if a prometheus_client release renames
    them, it falls back to the loop. tests/unit/test_telemetry.py pins the equivalence.
    """
    if count <= 0:
        return
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None:
        for _ in range(count):
            histogram.observe(amount)
        return
    total.inc(amount * count)
    buckets[bisect_left(bounds, amount)].inc(count)


def observe_each(histogram: Histogram, amounts: list[float]) -> None:
    """observe() of every value in `amounts`, with one increment per bucket that gets any:
    the values are binned with `bisect` (in C), then each bucket and the sum are touched
    once. For values that differ per record (event lag), where `observe_many` would be
    called once per value. Same fallback and test as `observe_many`."""
    if not amounts:
        return
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None:
        for amount in amounts:
            histogram.observe(amount)
        return
    total.inc(sum(amounts))
    for index, n in collections.Counter(map(partial(bisect_left, bounds), amounts)).items():
        buckets[index].inc(n)


class LoadTelemetry:
    """`eventyard load`'s metrics. topic is one of the configured output topics."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.rows = Counter(
            "eventyard_load_rows", "Rows committed to the target database, per source topic.",
            ["topic"], registry=r,
        )
        self.batches = Counter(
            "eventyard_load_batches", "Batches committed (rows and offsets in one transaction).",
            registry=r,
        )
        self.fenced = Counter(
            "eventyard_load_fenced",
            "Batches refused because another loader had moved the partition's stored offset.",
            registry=r,
        )
        self.batch_seconds = Histogram(
            "eventyard_load_batch_seconds", "Time to write one batch and its offsets.",
            buckets=PROCESSING_BUCKETS, registry=r,
        )
        self.lag = Gauge(
            "eventyard_load_lag", "Records between the stored offset and the high watermark.",
            ["topic", "partition"], registry=r,
        )


class SignalsTelemetry:
    """The signals processor's metrics. `rule` labels are signal names from the policy."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.records = Counter(
            "eventyard_signals_records", "Warehouse records consumed.", registry=r
        )
        self.fired = Counter(
            "eventyard_signals_fired", "Derived events emitted, per signal.", ["rule"], registry=r
        )
        self.state_windows = Gauge(
            "eventyard_signals_state_windows",
            "(signal, identity) windows held in memory, over the assigned partitions.",
            registry=r,
        )
        self.evicted = Counter(
            "eventyard_signals_evicted", "Windows forgotten because nothing can change them.",
            registry=r,
        )
        self.consumer_lag = Gauge(
            "eventyard_signals_consumer_lag",
            "Warehouse records behind the fetch high watermark, per assigned partition.",
            ["partition"],
            registry=r,
        )
        self.watermark_lag_seconds = Gauge(
            "eventyard_signals_watermark_lag_seconds",
            "Wall clock minus the partition's event-time watermark: how late '= 0' signals "
            "can fire there.",
            ["partition"],
            registry=r,
        )
        self.batches = Counter(
            "eventyard_signals_batches", "Batches processed (one state write each).", registry=r
        )
