"""The loaded table's layout, versioned with the routed record schema (docs/loader.md). Pure.

One row per routed record. Every `eventyard.routed/1` field has a column: scalars typed,
`user`, `properties` and `routedTo` as JSON, the context split into typed columns with the
click ids as JSON. A top-level field this layout does not know yet (an optional field a
later record schema adds) lands in the `extra` JSON column, so nothing is ever dropped; a
later layout version gives it a column of its own, and `prepare()` adds missing columns to
an existing table (it never drops or retypes one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import orjson

LAYOUT_VERSION = 1
ROWS_TABLE = "eventyard_routed"
OFFSETS_TABLE = "eventyard_load_offsets"
EVENTS_TABLE = "eventyard_events"

Kind = Literal["text", "timestamp", "double", "json", "bigint", "int"]
Dialect = Literal["duckdb", "postgres"]

SQL_TYPES: dict[Dialect, dict[Kind, str]] = {
    "duckdb": {"text": "VARCHAR", "timestamp": "TIMESTAMPTZ", "double": "DOUBLE",
               "json": "JSON", "bigint": "BIGINT", "int": "INTEGER"},
    "postgres": {"text": "TEXT", "timestamp": "TIMESTAMPTZ", "double": "DOUBLE PRECISION",
                 "json": "JSONB", "bigint": "BIGINT", "int": "INTEGER"},
}


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind
    doc: str


# Order is the insert order; append only (a new version adds columns at the end).
COLUMNS: tuple[Column, ...] = (
    Column("kafka_topic", "text", "Topic the record was read from."),
    Column("kafka_partition", "int", "Its partition."),
    Column("kafka_offset", "bigint", "Its offset: (topic, partition, offset) is unique."),
    Column("schema_id", "text", "Record schema, `eventyard.routed/1`."),
    Column("destination", "text", "Destination name from the policy."),
    Column("class", "text", "ads, crm or warehouse."),
    Column("name", "text", "The destination's native event name."),
    Column("event", "text", "Canonical (or custom) event name."),
    Column("event_id", "text", "The producer's eventId."),
    Column("ts", "timestamp", "When it happened (record `timestamp`)."),
    Column("received_at", "timestamp", "Kafka timestamp of the raw record."),
    Column("source", "text", "browser, server, mobile or import."),
    Column("policy_version", "text", "Content hash of the policy that routed it."),
    Column("value", "double", "Monetary value."),
    Column("currency", "text", "ISO 4217 code."),
    Column("page_url", "text", "context.pageUrl."),
    Column("referrer", "text", "context.referrer."),
    Column("ip", "text", "context.ip."),
    Column("user_agent", "text", "context.userAgent."),
    Column("click_ids", "json", "context.clickIds."),
    Column("user", "json", "Identity and PII per the destination's pii mode."),
    Column("properties", "json", "Free properties."),
    Column("routed_to", "json", "Warehouse records: every destination and what it got."),
    Column("extra", "json", "Top-level fields this layout has no column for yet."),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)

# Record field -> column, for the fields that map one to one.
_DIRECT = {
    "schema": "schema_id", "destination": "destination", "class": "class", "name": "name",
    "event": "event", "eventId": "event_id", "timestamp": "ts", "receivedAt": "received_at",
    "source": "source", "policyVersion": "policy_version", "value": "value",
    "currency": "currency",
}
_JSON = {"user": "user", "properties": "properties", "routedTo": "routed_to"}
_CONTEXT = {"pageUrl": "page_url", "referrer": "referrer", "ip": "ip", "userAgent": "user_agent"}


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def row_of(topic: str, partition: int, offset: int, value: bytes) -> tuple[Any, ...]:
    """One routed record (its Kafka coordinates and value bytes) as a row in COLUMNS order.
    A value that is not a JSON object keeps its coordinates and lands whole in `extra`."""
    row: dict[str, Any] = dict.fromkeys(COLUMN_NAMES)
    row["kafka_topic"], row["kafka_partition"], row["kafka_offset"] = topic, partition, offset
    try:
        record = orjson.loads(value)
    except orjson.JSONDecodeError:
        record = None
    if not isinstance(record, dict):
        row["extra"] = _json({"unparsed": value.decode("utf-8", "replace")})
        return tuple(row.values())
    extra: dict[str, Any] = {}
    for key, field_value in record.items():
        if key in _DIRECT:
            v = field_value
            if key == "value" and isinstance(v, bool | str):
                extra[key] = v
                continue
            row[_DIRECT[key]] = v
        elif key in _JSON:
            row[_JSON[key]] = _json(field_value)
        elif key == "context" and isinstance(field_value, dict):
            for ckey, cvalue in field_value.items():
                if ckey in _CONTEXT:
                    row[_CONTEXT[ckey]] = cvalue
                elif ckey == "clickIds":
                    row["click_ids"] = _json(cvalue)
                else:
                    extra.setdefault("context", {})[ckey] = cvalue
        else:
            extra[key] = field_value
    if extra:
        row["extra"] = _json(extra)
    return tuple(row.values())


def create_rows_table(dialect: Dialect, columns: Iterable[Column] = COLUMNS) -> str:
    types = SQL_TYPES[dialect]
    cols = ",\n  ".join(f'"{c.name}" {types[c.kind]}' for c in columns)
    return f"CREATE TABLE IF NOT EXISTS {ROWS_TABLE} (\n  {cols}\n)"


def add_column(dialect: Dialect, column: Column) -> str:
    return f'ALTER TABLE {ROWS_TABLE} ADD COLUMN "{column.name}" {SQL_TYPES[dialect][column.kind]}'


def missing_columns(existing: Iterable[str]) -> list[Column]:
    have = {name.lower() for name in existing}
    return [c for c in COLUMNS if c.name not in have]


CREATE_OFFSETS = (
    f"CREATE TABLE IF NOT EXISTS {OFFSETS_TABLE} (topic VARCHAR NOT NULL, "
    "kafka_partition INTEGER NOT NULL, next_offset BIGINT NOT NULL, "
    "layout_version INTEGER NOT NULL, PRIMARY KEY (topic, kafka_partition))"
)
CREATE_EVENTS = (
    f"CREATE TABLE IF NOT EXISTS {EVENTS_TABLE} (event VARCHAR PRIMARY KEY, "
    "stage VARCHAR NOT NULL)"
)


def markdown_table() -> str:
    """The layout as documented in docs/loader.md (a test keeps the two equal)."""
    lines = ["| column | duckdb | postgres | meaning |", "|---|---|---|---|"]
    for c in COLUMNS:
        lines.append(f"| `{c.name}` | {SQL_TYPES['duckdb'][c.kind]} | "
                     f"{SQL_TYPES['postgres'][c.kind]} | {c.doc} |")
    return "\n".join(lines)
