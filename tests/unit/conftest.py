"""Shared fixtures for the pure-core unit tests: the default compiled policy, a fixed
`now`, an event factory and a one-call router. Nothing here touches the network or sleeps."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import settings as hypothesis_settings

from eventyard.core import process
from eventyard.policy import CompiledPolicy, load_policy, parse_policy
from eventyard.routing.outcome import DeadLetter, Routed
from eventyard.taxonomy import TAXONOMY

# No wall-clock deadline per example: on a host shared with other work the first example
# of a property test can take longer than hypothesis's default 200 ms. That is timing,
# not a failure, and tests assert behaviour only.
hypothesis_settings.register_profile("eventyard", deadline=None)
hypothesis_settings.load_profile("eventyard")

REPO = Path(__file__).resolve().parents[2]
DEFAULT_POLICY_PATH = REPO / "config" / "routing.yaml"

# 2025-06-15T15:06:40Z: fixed so every age/future check is reproducible.
NOW_MS = 1_750_000_000_000

EventFactory = Callable[..., dict[str, Any]]
Runner = Callable[..., "Routed | DeadLetter"]


@pytest.fixture(autouse=True)
def _no_hmac_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # load_policy falls back to EVENTYARD_HMAC_KEY(_FILE); a developer's shell must not
    # change what the tests see.
    monkeypatch.delenv("EVENTYARD_HMAC_KEY", raising=False)
    monkeypatch.delenv("EVENTYARD_HMAC_KEY_FILE", raising=False)


@pytest.fixture(scope="session")
def default_policy() -> CompiledPolicy:
    return load_policy(DEFAULT_POLICY_PATH, hmac_key=None)


@pytest.fixture(scope="session")
def now_ms() -> int:
    return NOW_MS


@pytest.fixture
def make_event() -> EventFactory:
    """make_event("Purchase", email=...) -> a valid raw event dict. Money events get
    value + currency unless given; pass a field as None to leave it out. The default email
    is a match key for every ad platform (docs/platforms.md), so ads get the event."""
    ids: Iterator[int] = itertools.count(1)

    def factory(name: str = "SignUp", **fields: Any) -> dict[str, Any]:
        event: dict[str, Any] = {"event": name, "eventId": f"evt-{next(ids):06d}",
                                 "userId": "user-7f3a", "email": "user-7f3a@example.com"}
        spec = TAXONOMY.get(name)
        if spec is not None and "value" in spec.requires:
            event.update(value=49.5, currency="USD")
        event.update(fields)
        return {k: v for k, v in event.items() if v is not None}

    return factory


@pytest.fixture
def run(default_policy: CompiledPolicy, now_ms: int) -> Runner:
    """run(event_dict_or_bytes, policy=..., now=..., record_ts=...) -> core.process outcome."""

    def runner(
        event: dict[str, Any] | bytes | None,
        *,
        policy: CompiledPolicy | None = None,
        now: int | None = None,
        record_ts: int | None = None,
        max_bytes: int | None = None,
    ) -> Routed | DeadLetter:
        value = orjson.dumps(event) if isinstance(event, dict) else event
        now_ = now_ms if now is None else now
        kwargs = {} if max_bytes is None else {"max_bytes": max_bytes}
        return process(value, now_ if record_ts is None else record_ts,
                       policy or default_policy, now_, **kwargs)

    return runner


@pytest.fixture
def compile_yaml() -> Callable[..., CompiledPolicy]:
    """compile_yaml(text, hmac_key=None) -> CompiledPolicy (raises PolicyError)."""

    def compile_(text: str, hmac_key: bytes | None = None) -> CompiledPolicy:
        return parse_policy(text.encode(), "test.yaml", hmac_key=hmac_key)

    return compile_


def records_by_destination(outcome: Routed | DeadLetter) -> dict[str, dict[str, Any]]:
    """Decoded output records keyed by destination (fails the test on a dead letter)."""
    assert isinstance(outcome, Routed), f"expected routed, got {outcome!r}"
    out = {r.destination: orjson.loads(r.value) for r in outcome.records}
    assert len(out) == len(outcome.records), "two records for one destination"
    return out


@pytest.fixture
def records() -> Callable[[Routed | DeadLetter], dict[str, dict[str, Any]]]:
    return records_by_destination
