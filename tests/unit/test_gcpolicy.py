"""The worker's GC policy: collections after a freeze never rescan what a batch left
alive, and the scheduled full collection still reclaims cycles that died later."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from eventyard.worker.gcpolicy import GcPolicy


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture
def restore_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restore_gc")
def test_a_cycle_frozen_alive_is_reclaimed_by_the_full_collection() -> None:
    policy = GcPolicy(full_interval_s=3600)
    node = Node()
    ref = weakref.ref(node)
    policy.after_batch()  # alive at the freeze: moved out of the collector's sight
    del node
    gc.collect()
    assert ref() is not None, "a frozen cycle is not collected by an ordinary collection"
    assert policy.full_collection() >= 1
    assert ref() is None


@pytest.mark.usefixtures("restore_gc")
def test_after_batch_leaves_young_collections_nothing_old_to_scan() -> None:
    policy = GcPolicy(full_interval_s=3600)
    policy.start()
    kept = [Node() for _ in range(1000)]
    policy.after_batch()
    assert gc.get_freeze_count() >= len(kept)
    assert len(gc.get_objects(generation=0)) < len(kept)


@pytest.mark.usefixtures("restore_gc")
def test_the_full_collection_runs_when_due() -> None:
    now = [0.0]
    policy = GcPolicy(full_interval_s=60, clock=lambda: now[0])
    node = Node()
    ref = weakref.ref(node)
    policy.after_batch()
    del node
    policy.after_batch()  # not due: the frozen cycle stays
    assert ref() is not None
    now[0] = 61.0
    policy.after_batch()
    assert ref() is None
