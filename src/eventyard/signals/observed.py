"""The fields of a warehouse record (schemas/routed.v1.json) the signal rules read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from hashlib import blake2b
from typing import Any

import orjson

from eventyard.signals.rules import IDENTITY_CHAIN


@dataclass(frozen=True, slots=True)
class Observed:
    destination: str
    event: str
    fp: int  # 64-bit fingerprint of the eventId
    time_ms: int  # event time
    ids: dict[str, str]


@lru_cache(maxsize=4096)
def _second_ms(prefix: str) -> int:
    return int(datetime.fromisoformat(prefix + "+00:00").timestamp()) * 1000


def parse_rfc3339_ms(text: str) -> int:
    """The router's own format, 'YYYY-MM-DDTHH:MM:SS.mmmZ', fast; anything else via
    fromisoformat."""
    if len(text) == 24 and text[19] == "." and text[23] == "Z":
        return _second_ms(text[:19]) + int(text[20:23])
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def fingerprint(event_id: str) -> int:
    return int.from_bytes(blake2b(event_id.encode(), digest_size=8).digest(), "big", signed=True)


def observe_warehouse_record(value: bytes | None) -> Observed | None:
    """None for anything that is not a routed record (never raises)."""
    if not value:
        return None
    try:
        record: Any = orjson.loads(value)
        user = record.get("user") or {}
        ids = {k: v for k in IDENTITY_CHAIN if isinstance(v := user.get(k), str) and v}
        return Observed(
            destination=str(record["destination"]),
            event=str(record["event"]),
            fp=fingerprint(str(record["eventId"])),
            time_ms=parse_rfc3339_ms(str(record["timestamp"])),
            ids=ids,
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None
