"""Events in -> signals out, with the processor's own code: each raw event is routed by
`core.process` with the policy, its warehouse record is read back as the processor reads
it, and one PartitionEngine (one partition) evaluates the rules. `test-policy` cases and
`eventyard explain` use it, so what they show is what the processor does."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from eventyard.core import process
from eventyard.policy.compiled import CompiledPolicy
from eventyard.routing.outcome import DeadLetter
from eventyard.signals.derived import Fired
from eventyard.signals.engine import PartitionEngine
from eventyard.signals.observed import observe_warehouse_record


@dataclass(frozen=True, slots=True)
class Evaluation:
    fired: tuple[Fired, ...]
    dead_letters: tuple[str, ...]  # reason of every input the router refused (not counted)


def evaluate(
    policy: CompiledPolicy, events: Iterable[tuple[bytes, int]], until_ms: int | None = None
) -> Evaluation:
    """`events`: (raw event JSON, arrival time ms) in partition order. `until_ms`: event
    time the partition's watermark reaches afterwards (other users' traffic), which is
    what closes `= 0` windows."""
    engine = PartitionEngine(policy.signals)
    fired: list[Fired] = []
    dead: list[str] = []
    for value, arrived_ms in events:
        outcome = process(value, arrived_ms, policy, arrived_ms)
        if isinstance(outcome, DeadLetter):
            dead.append(outcome.reason)
            continue
        for record in outcome.records:
            if record.destination == policy.signals_source:
                observed = observe_warehouse_record(record.value)
                if observed is not None:
                    fired += engine.observe(observed)
    if until_ms is not None:
        fired += engine.advance(until_ms)
    return Evaluation(tuple(fired), tuple(dead))
