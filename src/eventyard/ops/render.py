"""How `tap` and `dlq show` print a record: one JSON object per line, or a rich line."""

from __future__ import annotations

from typing import Any

import orjson
from rich.text import Text

from eventyard.contract.headers import (
    H_DETAIL,
    H_REDRIVE_COUNT,
    H_SOURCE_OFFSET,
    H_SOURCE_PARTITION,
    H_SOURCE_TOPIC,
)
from eventyard.ops.masking import shown_key, shown_value
from eventyard.ops.views import View
from eventyard.ops.window import iso_ms

ROLE_STYLE = {"ads": "magenta", "crm": "cyan", "warehouse": "green", "dlq": "red",
              "raw": "blue", "keyed": "blue", "duplicates": "yellow", "dedup": "dim"}


def as_json(v: View, *, show_pii: bool) -> dict[str, Any]:
    rec = v.rec
    return {
        "topic": rec.topic, "role": v.role, "partition": rec.partition, "offset": rec.offset,
        "timestamp": iso_ms(rec.timestamp), "key": shown_key(v, show_pii=show_pii),
        "headers": {k: h.decode(errors="replace") for k, h in v.headers.items()},
        "value": shown_value(v, show_pii=show_pii),
    }


def json_line(v: View, *, show_pii: bool) -> str:
    return orjson.dumps(as_json(v, show_pii=show_pii)).decode()


def pretty(v: View, *, show_pii: bool) -> Text:
    rec = v.rec
    t = Text()
    t.append(iso_ms(rec.timestamp)[11:], style="dim")
    t.append(f" {v.role:<9}", style=ROLE_STYLE.get(v.role, ""))
    t.append(f" {rec.partition}@{rec.offset}", style="dim")
    if v.destination:
        t.append(f" {v.destination}", style="bold")
    name, event = v.text("name"), v.event
    if name and event and name != event:
        t.append(f" {name}").append(f" ({event})", style="dim")
    elif event:
        t.append(f" {event}")
    if v.event_id:
        t.append(f" {v.event_id}", style="dim")
    if v.reason:
        t.append(f" {v.reason}", style="bold red")
        detail = v.headers.get(H_DETAIL)
        if detail:
            t.append(f" {detail.decode(errors='replace')}", style="red")
        source = [v.headers.get(h, b"?").decode(errors="replace")
                  for h in (H_SOURCE_TOPIC, H_SOURCE_PARTITION, H_SOURCE_OFFSET)]
        t.append(f" [from {source[0]} {source[1]}@{source[2]}", style="dim")
        redrives = v.headers.get(H_REDRIVE_COUNT)
        if redrives:
            t.append(f", redriven {redrives.decode(errors='replace')}×", style="dim")
        t.append("]", style="dim")
    value = shown_value(v, show_pii=show_pii)
    if value is not None:
        body = value if isinstance(value, str) else orjson.dumps(value).decode()
        t.append("\n  " + body, style="dim")
    return t
