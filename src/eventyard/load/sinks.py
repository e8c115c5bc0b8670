"""Where loaded rows go: DuckDB (embedded, one process) or Postgres (N loader processes).

Both keep the same three tables (load/layout.py) and the same promise: `write()` inserts a
batch of rows and advances the stored offsets of the partitions it came from in ONE
transaction, fenced. Fenced means the transaction checks that every partition's stored
offset is still the one this loader started the batch from; if another loader moved it
(a rebalance gave the partition away while this batch was in flight) nothing is written and
`Fenced` is raised, so the caller re-reads the stored offsets and seeks. Rows are therefore
loaded exactly once per (topic, partition, offset), whatever crashes or rebalances happen,
without relying on eventId uniqueness.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from eventyard.errors import Fenced, LoadTargetError
from eventyard.load import layout
from eventyard.load.layout import COLUMNS, Dialect

TopicPartitionKey = tuple[str, int]
# Per partition: (stored offset this batch starts from, or None if none stored; next offset).
Advance = Mapping[TopicPartitionKey, tuple[int | None, int]]
Row = tuple[Any, ...]


class Sink(ABC):
    dialect: Dialect

    @abstractmethod
    def prepare(self, events: Sequence[tuple[str, str]]) -> list[str]:
        """Create the tables, add columns a newer layout has; returns the columns added."""

    @abstractmethod
    def stored_offsets(self) -> dict[TopicPartitionKey, int]:
        """Next offset to read, per partition, as committed with the rows."""

    @abstractmethod
    def write(self, rows: Sequence[Row], advance: Advance) -> None:
        """Insert rows and advance offsets in one fenced transaction (raises Fenced)."""

    @abstractmethod
    def query(self, sql: str) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def close(self) -> None: ...


def _check_fence(found: Mapping[TopicPartitionKey, int], advance: Advance) -> None:
    for tp, (start, _next) in advance.items():
        if found.get(tp) != start:
            raise Fenced(
                f"{tp[0]}[{tp[1]}]: stored offset is {found.get(tp)}, this batch started at "
                f"{start}; another loader owns the partition now"
            )


class DuckDBSink(Sink):
    dialect: Dialect = "duckdb"

    def __init__(self, path: str) -> None:
        import duckdb

        try:
            self.con = duckdb.connect(path)
        except duckdb.Error as exc:
            raise LoadTargetError(f"cannot open DuckDB file {path}: {exc}") from exc
        types = layout.SQL_TYPES["duckdb"]
        # One list parameter per column, unnested into rows: DuckDB's executemany runs
        # one statement per row, this runs one per batch.
        selects = ", ".join(
            f"CAST(unnest(${i + 1}) AS {types[c.kind]})" for i, c in enumerate(COLUMNS)
        )
        names = ", ".join(f'"{c.name}"' for c in COLUMNS)
        self._insert = f"INSERT INTO {layout.ROWS_TABLE} ({names}) SELECT {selects}"

    def prepare(self, events: Sequence[tuple[str, str]]) -> list[str]:
        self.con.execute(layout.create_rows_table("duckdb"))
        self.con.execute(layout.CREATE_OFFSETS)
        self.con.execute(layout.CREATE_EVENTS)
        existing = [r[0] for r in self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
            [layout.ROWS_TABLE]).fetchall()]
        added = layout.missing_columns(existing)
        for column in added:
            self.con.execute(layout.add_column("duckdb", column))
        if events:
            self.con.executemany(
                f"INSERT INTO {layout.EVENTS_TABLE} VALUES (?, ?) ON CONFLICT DO NOTHING", events)
        return [c.name for c in added]

    def stored_offsets(self) -> dict[TopicPartitionKey, int]:
        rows = self.con.execute(
            f"SELECT topic, kafka_partition, next_offset FROM {layout.OFFSETS_TABLE}").fetchall()
        return {(t, p): o for t, p, o in rows}

    def write(self, rows: Sequence[Row], advance: Advance) -> None:
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            _check_fence(self.stored_offsets(), advance)
            if rows:
                con.execute(self._insert, [list(col) for col in zip(*rows, strict=True)])
            con.executemany(
                f"INSERT INTO {layout.OFFSETS_TABLE} VALUES (?, ?, ?, ?) ON CONFLICT "
                "(topic, kafka_partition) DO UPDATE SET next_offset = excluded.next_offset, "
                "layout_version = excluded.layout_version",
                [(t, p, nxt, layout.LAYOUT_VERSION) for (t, p), (_s, nxt) in advance.items()],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def close(self) -> None:
        self.con.close()


class PostgresSink(Sink):
    dialect: Dialect = "postgres"

    def __init__(self, url: str) -> None:
        import psycopg

        try:
            self.con = psycopg.connect(url, autocommit=False)
        except psycopg.Error as exc:
            host = url.split("@")[-1]  # never echo a password
            raise LoadTargetError(f"cannot connect to Postgres at {host}: {exc}") from exc
        names = ", ".join(f'"{c.name}"' for c in COLUMNS)
        self._copy = f"COPY {layout.ROWS_TABLE} ({names}) FROM STDIN"

    def prepare(self, events: Sequence[tuple[str, str]]) -> list[str]:
        with self.con.transaction(), self.con.cursor() as cur:
            # Two loaders starting at once must not race on CREATE/ALTER.
            cur.execute("SELECT pg_advisory_xact_lock(7263510)")
            cur.execute(layout.create_rows_table("postgres").encode())
            cur.execute(layout.CREATE_OFFSETS.replace("VARCHAR", "TEXT").encode())
            cur.execute(layout.CREATE_EVENTS.replace("VARCHAR", "TEXT").encode())
            cur.execute("SELECT column_name FROM information_schema.columns "
                        "WHERE table_name = %s", (layout.ROWS_TABLE,))
            added = layout.missing_columns(r[0] for r in cur.fetchall())
            for column in added:
                cur.execute(layout.add_column("postgres", column).encode())
            if events:
                cur.executemany(f"INSERT INTO {layout.EVENTS_TABLE} VALUES (%s, %s) "
                                "ON CONFLICT DO NOTHING".encode(), list(events))
        return [c.name for c in added]

    def stored_offsets(self) -> dict[TopicPartitionKey, int]:
        with self.con.transaction(), self.con.cursor() as cur:
            cur.execute(f"SELECT topic, kafka_partition, next_offset FROM {layout.OFFSETS_TABLE}"
                        .encode())
            return {(t, p): o for t, p, o in cur.fetchall()}

    def write(self, rows: Sequence[Row], advance: Advance) -> None:
        with self.con.transaction(), self.con.cursor() as cur:
            keys = sorted(advance)
            # Row locks in a fixed order: two loaders racing for a partition serialise here.
            cur.execute(
                f"SELECT topic, kafka_partition, next_offset FROM {layout.OFFSETS_TABLE} "
                "WHERE (topic, kafka_partition) IN (SELECT * FROM unnest(%s::text[], %s::int[])) "
                "ORDER BY topic, kafka_partition FOR UPDATE".encode(),
                ([t for t, _ in keys], [p for _, p in keys]),
            )
            _check_fence({(t, p): o for t, p, o in cur.fetchall()}, advance)
            if rows:
                with cur.copy(self._copy.encode()) as copy:
                    for row in rows:
                        copy.write_row(row)
            cur.executemany(
                f"INSERT INTO {layout.OFFSETS_TABLE} VALUES (%s, %s, %s, %s) ON CONFLICT "
                "(topic, kafka_partition) DO UPDATE SET next_offset = excluded.next_offset, "
                "layout_version = excluded.layout_version".encode(),
                [(t, p, nxt, layout.LAYOUT_VERSION) for (t, p), (_s, nxt) in advance.items()],
            )

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with self.con.transaction(), self.con.cursor() as cur:
            cur.execute(sql.encode())
            return cur.fetchall() if cur.description else []

    def close(self) -> None:
        self.con.close()


def open_sink(target: str) -> Sink:
    """`duckdb:PATH` (or a path ending in .duckdb) or `postgresql://…`."""
    if target.startswith(("postgresql://", "postgres://")):
        return PostgresSink(target)
    if target.startswith("duckdb:"):
        return DuckDBSink(target.removeprefix("duckdb:") or ":memory:")
    if target.endswith((".duckdb", ".db")):
        return DuckDBSink(target)
    raise LoadTargetError(
        f"--to {target!r}: expected duckdb:PATH or postgresql://USER@HOST:PORT/DB"
    )
