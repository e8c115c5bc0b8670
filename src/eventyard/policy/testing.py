"""Policy unit tests (config/tests/*.yaml): raw events in, expected routes out. Pure.

Each case runs through `core.process`, the worker's own hot path, against a policy compiled
by the same loader the worker uses, so a green suite states what production will do with
that event, not what a model of the router would do. Test files report their own mistakes
as FILE:LINE: PATH: message, like policy files do.

A test file is a YAML list of cases:

    - name: SignUp goes to every ad platform under its native name
      now: "2026-11-22T12:00:00Z"     # optional; default: the event's timestamp
      event: {event: SignUp, eventId: t-1, userId: u-1}    # or a string, sent verbatim
      expect:
        routed: {meta: CompleteRegistration, google: sign_up}  # or a list of destinations
        not_routed: {linkedin: not_in_policy}                  # or a list of destinations
        only: true                      # optional: routed is the complete set
        # or instead: dead_letter: contract.currency.missing
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias, get_args

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from eventyard.contract.deadletter import DeadLetter
from eventyard.contract.reasons import REASONS
from eventyard.core import process
from eventyard.errors import PolicyProblem, ProblemKind
from eventyard.policy.compiled import CompiledPolicy
from eventyard.policy.yamlsource import SourceMap, load_yaml

if TYPE_CHECKING:
    from eventyard.policy.signal_cases import SignalCase

__all__ = [
    "DEFAULT_NOW",
    "SKIP_REASONS",
    "AnyCase",
    "CaseResult",
    "Expect",
    "PolicyCase",
    "SuiteResult",
    "discover",
    "load_cases",
    "run_case",
    "run_suite",
]

# The router's skip reasons; telemetry.SKIP_REASONS lists the same set (a test checks
# they agree) but lives outside the pure core, so it cannot be imported here.
SkipReason = Literal[
    "not_in_policy", "excluded", "no_consent", "too_old", "custom_event", "no_match_keys"
]
SKIP_REASONS: tuple[str, ...] = get_args(SkipReason)
# Cases without `now` and without an event timestamp run at a fixed time, so a suite
# gives the same answer on every machine and every day.
DEFAULT_NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _list_as_map(value: object) -> object:
    # `routed: [meta, google]` checks the destinations only, not the native names.
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return dict.fromkeys(value)
    return value


def _event_shape(value: object) -> object:
    if not isinstance(value, dict | str):
        raise ValueError("must be a mapping (the raw event) or a string (sent verbatim)")
    return value


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    routed: Annotated[dict[str, str | None] | None, BeforeValidator(_list_as_map)] = None
    not_routed: Annotated[dict[str, SkipReason | None] | None, BeforeValidator(_list_as_map)] = (
        None
    )
    only: bool = False
    dead_letter: str | None = None

    @field_validator("dead_letter")
    @classmethod
    def _known_reason(cls, value: str | None) -> str | None:
        if value is not None and value not in REASONS:
            raise ValueError(f"unknown reason code {value!r} (see docs/reason-codes.md)")
        return value

    @model_validator(mode="after")
    def _one_outcome(self) -> Expect:
        if self.dead_letter is not None:
            if self.routed is not None or self.not_routed is not None or self.only:
                raise ValueError("dead_letter cannot be combined with routed, not_routed or only")
        elif self.routed is None and self.not_routed is None:
            raise ValueError("needs routed, not_routed or dead_letter")
        if self.only and self.routed is None:
            raise ValueError("only: true needs routed")
        both = set(self.routed or ()) & set(self.not_routed or ())
        if both:
            raise ValueError(f"both routed and not_routed: {', '.join(sorted(both))}")
        return self


class _CaseModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: Annotated[str, Field(min_length=1)]
    # Not strict: a quoted RFC 3339 string is the usual way to write it.
    now: Annotated[AwareDatetime | None, Field(strict=False)] = None
    event: Annotated[Any, BeforeValidator(_event_shape)]
    expect: Expect


@dataclass(frozen=True, slots=True)
class PolicyCase:
    file: str
    line: int
    name: str
    now: datetime | None
    event: dict[str, Any] | str
    expect: Expect

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


# A routing case (one event in, routes out) or a signal case (events in, signals out).
AnyCase: TypeAlias = "PolicyCase | SignalCase"


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: AnyCase
    expected: str
    actual: str
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True, slots=True)
class SuiteResult:
    results: tuple[CaseResult, ...] = ()
    problems: tuple[PolicyProblem, ...] = ()  # malformed or unreadable test files
    files: int = 0

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    @property
    def ok(self) -> bool:
        return self.failed == 0 and not self.problems and bool(self.results)


# --- loading ------------------------------------------------------------------------


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; directories expand to their *.yaml and *.yml, sorted."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(q for q in p.iterdir() if q.suffix in (".yaml", ".yml"))
        else:
            found.append(p)
    return found


def load_cases(data: bytes, file: str) -> tuple[list[AnyCase], list[PolicyProblem]]:
    """Parse one test file; every problem is reported, valid cases are kept."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [], [PolicyProblem(file, 1, "", "the file is not UTF-8", "not_utf8")]
    raw, smap, problems = load_yaml(text, file)
    if raw is None:
        # load_yaml speaks of "the policy file"; here it is a test file.
        return [], [
            PolicyProblem(p.file, p.line, p.path, "the test file has no cases", "empty_file")
            if p.message.startswith("the policy file is empty") else p
            for p in problems
        ]
    if not isinstance(raw, list) or not raw:
        return [], [
            *problems, smap.problem((), "a test file is a non-empty list of cases", "bad_case")
        ]
    cases: list[AnyCase] = []
    first_line: dict[str, int] = {}
    for i, item in enumerate(raw):
        line = smap.line((i,))
        if not isinstance(item, dict):
            problems.append(
                PolicyProblem(file, line, f"[{i}]", "a case must be a mapping", "bad_case")
            )
            continue
        if "events" in item:  # events in -> signals out (policy/signal_cases.py)
            from eventyard.policy.signal_cases import parse_signal_case

            parsed, found = parse_signal_case(item, i, line, smap)
            problems += found
            if parsed is None:
                continue
            if parsed.name in first_line:
                problems.append(PolicyProblem(
                    file, line, f"[{i}].name",
                    f"duplicate case name (first used on line {first_line[parsed.name]})",
                    "duplicate_case",
                ))
                continue
            first_line[parsed.name] = line
            cases.append(parsed)
            continue
        try:
            model = _CaseModel.model_validate(item)
        except ValidationError as exc:
            problems += problems_of(exc, i, smap)
            continue
        if model.name in first_line:
            problems.append(PolicyProblem(
                file, line, f"[{i}].name",
                f"duplicate case name (first used on line {first_line[model.name]})",
                "duplicate_case",
            ))
            continue
        first_line[model.name] = line
        cases.append(PolicyCase(file, line, model.name, model.now, model.event, model.expect))
    return cases, problems


def problems_of(exc: ValidationError, index: int, smap: SourceMap) -> list[PolicyProblem]:
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = tuple(p for p in err["loc"] if not str(p).startswith("function-"))
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        msg = msg.removeprefix("Value error, ")
        path = f"[{index}]" + "".join(f".{p}" for p in loc)
        kind: ProblemKind = "unknown_key" if err["type"] == "extra_forbidden" else "bad_case"
        out.append(PolicyProblem(smap.file, smap.line((index, *loc)), path, msg, kind))
    return out


# --- running ------------------------------------------------------------------------


def _now(case: PolicyCase) -> datetime:
    if case.now is not None:
        return case.now
    return event_time(case.event)


def event_time(event: dict[str, Any] | str) -> datetime:
    """The event's own timestamp, else DEFAULT_NOW: when a case's event arrives."""
    ts = event.get("timestamp") if isinstance(event, dict) else None
    try:
        if isinstance(ts, datetime) and ts.tzinfo is not None:
            return ts
        if isinstance(ts, str):
            parsed = datetime.fromisoformat(ts)
            if parsed.tzinfo is not None:
                return parsed
        if isinstance(ts, int) and not isinstance(ts, bool) and ts >= 0:
            return datetime.fromtimestamp(ts / 1000, UTC)
    except ValueError:
        pass  # the contract will dead-letter it; the case says whether that is expected
    return DEFAULT_NOW


def encode_event(event: dict[str, Any] | str) -> bytes:
    if isinstance(event, str):
        return event.encode()
    # YAML turns unquoted timestamps into datetimes; orjson writes them back as RFC 3339.
    return orjson.dumps(event, option=orjson.OPT_NON_STR_KEYS)


def run_case(case: PolicyCase, policy: CompiledPolicy) -> CaseResult:
    now_ms = int(_now(case).timestamp() * 1000)
    # The record timestamp is `now`: the event just arrived on the raw topic.
    outcome = process(encode_event(case.event), now_ms, policy, now_ms)
    exp = case.expect
    if isinstance(outcome, DeadLetter):
        actual = f"dead letter {outcome.reason} ({outcome.detail})"
        if exp.dead_letter == outcome.reason:
            failures: list[str] = []
        elif exp.dead_letter is not None:
            failures = [f"expected dead letter {exp.dead_letter}, got {outcome.reason}"]
        else:
            failures = [f"expected the event to be routed, got dead letter {outcome.reason}"]
        return CaseResult(case, _render_expect(exp), actual, tuple(failures))
    sent = {r.destination: str(orjson.loads(r.value)["name"]) for r in outcome.records}
    skipped = dict(outcome.skipped)
    actual = _render_routes(sent, skipped)
    if exp.dead_letter is not None:
        failures = [f"expected dead letter {exp.dead_letter}, but the event was routed"]
    else:
        failures = _route_failures(exp, sent, skipped, policy.destinations)
    return CaseResult(case, _render_expect(exp), actual, tuple(failures))


def _route_failures(
    exp: Expect, sent: dict[str, str], skipped: dict[str, str], known: Sequence[str]
) -> list[str]:
    failures = []
    for dest in [*(exp.routed or ()), *(exp.not_routed or ())]:
        if dest not in known:
            failures.append(
                f"{dest}: not a destination of this policy (it has {', '.join(known)})"
            )
    for dest, name in (exp.routed or {}).items():
        if dest not in known:
            continue
        if dest not in sent:
            why = skipped.get(dest, "no reason")
            failures.append(f"expected {dest} to be sent, but it was skipped ({why})")
        elif name is not None and sent[dest] != name:
            failures.append(f"expected {dest} as {name}, but it was sent as {sent[dest]}")
    for dest, reason in (exp.not_routed or {}).items():
        if dest not in known:
            continue
        if dest in sent:
            failures.append(f"expected {dest} not to be sent, but it was sent as {sent[dest]}")
        elif reason is not None and skipped.get(dest) != reason:
            failures.append(
                f"expected {dest} skipped ({reason}), but it was skipped "
                f"({skipped.get(dest, 'no reason')})"
            )
    if exp.only and exp.routed is not None:
        extra = sorted(set(sent) - set(exp.routed))
        if extra:
            failures.append(f"expected only {', '.join(exp.routed)}; also sent to "
                            + ", ".join(f"{d} as {sent[d]}" for d in extra))
    return failures


def _pairs(m: dict[str, str | None] | dict[str, Any], sep: str) -> str:
    return ", ".join(d if v is None else f"{d}{sep}{v}" for d, v in m.items())


def _render_expect(exp: Expect) -> str:
    if exp.dead_letter is not None:
        return f"dead letter {exp.dead_letter}"
    parts = []
    if exp.routed is not None:
        parts.append(("only " if exp.only else "") + "sent to " + _pairs(exp.routed, " as "))
    if exp.not_routed is not None:
        parts.append("not sent to " + _pairs(exp.not_routed, ": "))
    return "; ".join(parts)


def _render_routes(sent: dict[str, str], skipped: dict[str, str]) -> str:
    out = "sent to " + (_pairs(dict(sent), " as ") or "nothing")
    if skipped:
        out += "; skipped " + _pairs(dict(skipped), ": ")
    return out


def run_suite(policy: CompiledPolicy, files: Sequence[Path]) -> SuiteResult:
    from eventyard.policy.signal_cases import run_signal_case

    results: list[CaseResult] = []
    problems: list[PolicyProblem] = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            problems.append(PolicyProblem(
                str(path), 1, "", f"cannot read: {exc.strerror}", "unreadable_file"
            ))
            continue
        cases, found = load_cases(data, str(path))
        problems += found
        results += (run_case(c, policy) if isinstance(c, PolicyCase)
                    else run_signal_case(c, policy) for c in cases)
    return SuiteResult(tuple(results), tuple(problems), len(files))

