"""Loads events.yaml into immutable records and answers "did you mean" questions."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml


@dataclass(frozen=True, slots=True)
class CanonicalEvent:
    name: str
    stage: str
    description: str
    requires: tuple[str, ...] = ()
    ads_protected: bool = False


def _load() -> tuple[tuple[str, ...], MappingProxyType[str, CanonicalEvent]]:
    raw: dict[str, Any] = yaml.safe_load(
        resources.files("eventyard.taxonomy").joinpath("events.yaml").read_text("utf-8")
    )
    stages = tuple(raw["stages"])
    events = {
        name: CanonicalEvent(
            name=name,
            stage=spec["stage"],
            description=spec["description"],
            requires=tuple(spec.get("requires", ())),
            ads_protected=bool(spec.get("ads_protected", False)),
        )
        for name, spec in raw["events"].items()
    }
    return stages, MappingProxyType(events)


STAGES, TAXONOMY = _load()

_FOLD = re.compile(r"[^a-z0-9]")
# A folded form ("sign_up", "SIGNUP", "sign-up" -> "signup") that names a canonical event
# but is not spelled like it is almost certainly a producer typo, not a custom event.
_FOLDED = {_FOLD.sub("", name.lower()): name for name in TAXONOMY}


def near_miss(name: str) -> str | None:
    """The canonical name `name` was probably meant to be, if it differs only in case or
    separators; None for exact canonical names and real custom events."""
    if name in TAXONOMY:
        return None
    return _FOLDED.get(_FOLD.sub("", name.lower()))


def closest_canonical(name: str) -> str | None:
    """Best "did you mean" for a policy typo (edit distance, then case-folded match)."""
    folded = near_miss(name)
    if folded is not None:
        return folded
    matches = difflib.get_close_matches(name, list(TAXONOMY), n=1, cutoff=0.75)
    return matches[0] if matches else None
