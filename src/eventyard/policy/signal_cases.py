"""Signal cases of `test-policy`: raw events in, signals out. Pure.

A case with `events:` (a list) instead of `event:` runs its events, in order, through the
router and the signals engine of the processor (signals/evaluate.py):

    - name: three FeatureUsed in a week make a product-qualified lead
      events:
        - {event: FeatureUsed, eventId: p-1, userId: u-1, timestamp: "2026-11-20T10:00:00Z"}
        - ...
      until: "2026-12-01T00:00:00Z"   # optional: event time the partition reaches after
                                      # them (other users' traffic); closes `= 0` windows
      expect:
        signals: [{ProductQualifiedLead: u-1}]   # in firing order; a bare name matches any
                                                 # identity; [] expects none
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from eventyard.errors import PolicyProblem
from eventyard.policy.compiled import CompiledPolicy
from eventyard.policy.testing import CaseResult, encode_event, event_time, problems_of
from eventyard.policy.yamlsource import SourceMap
from eventyard.signals.evaluate import evaluate


def _expected_signal(value: object) -> object:
    if isinstance(value, str):
        return (value, None)
    if isinstance(value, dict) and len(value) == 1:
        ((name, who),) = value.items()
        if isinstance(name, str) and isinstance(who, str):
            return (name, who)
    raise ValueError("a signal is its name, or {name: identity}")


ExpectedSignal = Annotated[tuple[str, str | None], BeforeValidator(_expected_signal)]


class SignalExpect(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    signals: list[ExpectedSignal]


def _event_shape(value: object) -> object:
    if not isinstance(value, dict | str):
        raise ValueError("must be a mapping (the raw event) or a string (sent verbatim)")
    return value


class _SignalCaseModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: Annotated[str, Field(min_length=1)]
    events: Annotated[list[Annotated[Any, BeforeValidator(_event_shape)]], Field(min_length=1)]
    until: Annotated[AwareDatetime | None, Field(strict=False)] = None
    expect: SignalExpect


@dataclass(frozen=True, slots=True)
class SignalCase:
    file: str
    line: int
    name: str
    events: tuple[dict[str, Any] | str, ...]
    until: datetime | None
    expect: SignalExpect

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def parse_signal_case(
    item: dict[str, Any], index: int, line: int, smap: SourceMap
) -> tuple[SignalCase | None, list[PolicyProblem]]:
    try:
        model = _SignalCaseModel.model_validate(item)
    except ValidationError as exc:
        return None, problems_of(exc, index, smap)
    return SignalCase(smap.file, line, model.name, tuple(model.events), model.until,
                      model.expect), []


def _render(signals: list[tuple[str, str | None]]) -> str:
    if not signals:
        return "no signals"
    return "signals " + ", ".join(n if who is None else f"{n} for {who}" for n, who in signals)


def run_signal_case(case: SignalCase, policy: CompiledPolicy) -> CaseResult:
    expected: list[tuple[str, str | None]] = list(case.expect.signals)
    inputs = [(encode_event(e), int(event_time(e).timestamp() * 1000)) for e in case.events]
    until = int(case.until.timestamp() * 1000) if case.until is not None else None
    result = evaluate(policy, inputs, until)
    fired: list[tuple[str, str | None]] = [(f.rule, f.identity) for f in result.fired]
    actual = _render(fired)
    if result.dead_letters:
        actual += f" ({len(result.dead_letters)} events dead-lettered: "
        actual += ", ".join(result.dead_letters) + ")"
    failures: list[str] = []
    known = {s.name for s in policy.signals}
    for name, _ in expected:
        if name not in known:
            failures.append(f"{name}: not a signal of this policy "
                            f"(it has {', '.join(sorted(known)) or 'none'})")
    matches = len(expected) == len(fired) and all(
        name == got[0] and (who is None or who == got[1])
        for (name, who), got in zip(expected, fired, strict=True)
    )
    if not failures and not matches:
        failures.append(f"expected {_render(expected)}, got {actual}")
    return CaseResult(case, _render(expected), actual, tuple(failures))
