"""observe_many must be indistinguishable from observe() in a loop."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from eventyard.telemetry import PROCESSING_BUCKETS, observe_each, observe_many


def _pair() -> tuple[Histogram, Histogram, CollectorRegistry, CollectorRegistry]:
    ra, rb = CollectorRegistry(), CollectorRegistry()
    a = Histogram("h", "h", buckets=PROCESSING_BUCKETS, registry=ra)
    b = Histogram("h", "h", buckets=PROCESSING_BUCKETS, registry=rb)
    return a, b, ra, rb


def _samples(registry: CollectorRegistry) -> list[bytes]:
    # _created is the histogram's creation time: the only line allowed to differ.
    return [ln for ln in generate_latest(registry).splitlines() if b"_created" not in ln]


@pytest.mark.parametrize(
    "amount", [0.0, 0.0005, 0.0007, 0.001, 0.3, 30.0, 31.0, 1e9], ids=str
)
def test_observe_many_equals_a_loop_of_observe(amount: float) -> None:
    looped, batched, ra, rb = _pair()
    for _ in range(7):
        looped.observe(amount)
    observe_many(batched, amount, 7)
    assert _samples(ra) == _samples(rb)


def test_zero_count_observes_nothing() -> None:
    _, h, _, r = _pair()
    observe_many(h, 1.0, 0)
    assert b"h_count 0.0" in generate_latest(r)


def test_observe_each_equals_a_loop_of_observe() -> None:
    looped, batched, ra, rb = _pair()
    amounts = [0.0, 0.0005, 0.0007, 0.001, 0.3, 0.3, 30.0, 31.0, 1e9, 0.0007]
    for amount in amounts:
        looped.observe(amount)
    observe_each(batched, amounts)
    assert _samples(ra) == _samples(rb)
    observe_each(batched, [])
    assert _samples(ra) == _samples(rb)
