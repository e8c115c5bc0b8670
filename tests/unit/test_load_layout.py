"""The loaded table's layout and the sinks' transaction rules, on a real DuckDB file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from eventyard.errors import Fenced, LoadTargetError
from eventyard.load import layout
from eventyard.load.sinks import DuckDBSink, open_sink

REPO = Path(__file__).resolve().parents[2]

RECORD = {
    "schema": "eventyard.routed/1", "destination": "warehouse", "class": "warehouse",
    "name": "Purchase", "event": "Purchase", "eventId": "e-1",
    "timestamp": "2026-12-01T10:00:00.000Z", "receivedAt": "2026-12-01T10:00:01.000Z",
    "source": "server", "policyVersion": "v1", "user": {"userId": "u-1"},
    "context": {"pageUrl": "https://a.example/", "ip": "192.0.2.1", "clickIds": {"gclid": "g"}},
    "value": 49.0, "currency": "USD", "properties": {"plan": "pro"},
    "routedTo": {"meta": {"status": "sent", "name": "Purchase"}},
}


def row(**over: object) -> dict[str, object]:
    value = orjson.dumps({**RECORD, **over})
    return dict(zip(layout.COLUMN_NAMES, layout.row_of("w", 3, 42, value), strict=True))


def test_every_routed_field_has_a_column() -> None:
    r = row()
    assert (r["kafka_topic"], r["kafka_partition"], r["kafka_offset"]) == ("w", 3, 42)
    assert (r["event_id"], r["ts"], r["value"], r["currency"]) == (
        "e-1", "2026-12-01T10:00:00.000Z", 49.0, "USD")
    assert (r["page_url"], r["ip"]) == ("https://a.example/", "192.0.2.1")
    assert orjson.loads(str(r["click_ids"])) == {"gclid": "g"}
    assert orjson.loads(str(r["routed_to"]))["meta"]["status"] == "sent"
    assert r["extra"] is None


def test_a_field_the_layout_does_not_know_lands_in_extra() -> None:
    r = row(warnings=[{"field": "email", "code": "trimmed"}])
    assert orjson.loads(str(r["extra"])) == {"warnings": [{"field": "email", "code": "trimmed"}]}


def test_a_value_that_is_not_a_json_object_keeps_its_bytes() -> None:
    r = dict(zip(layout.COLUMN_NAMES, layout.row_of("w", 0, 1, b"\xffnot json"), strict=True))
    assert "not json" in orjson.loads(str(r["extra"]))["unparsed"]


def test_prepare_adds_the_columns_an_older_table_lacks(tmp_path: Path) -> None:
    path = str(tmp_path / "w.duckdb")
    old = DuckDBSink(path)
    old.con.execute(layout.create_rows_table("duckdb", layout.COLUMNS[:-2]))
    old.close()
    sink = DuckDBSink(path)
    assert sink.prepare([("Purchase", "revenue")]) == ["routed_to", "extra"]
    assert sink.prepare([("Purchase", "revenue")]) == []
    sink.close()


def test_rows_and_offsets_commit_together_and_a_stale_batch_is_fenced(tmp_path: Path) -> None:
    sink = DuckDBSink(str(tmp_path / "w.duckdb"))
    sink.prepare([])
    value = orjson.dumps(RECORD)
    sink.write([layout.row_of("w", 0, 0, value)], {("w", 0): (None, 1)})
    with pytest.raises(Fenced):  # a second loader that also started from "nothing stored"
        sink.write([layout.row_of("w", 0, 0, value)], {("w", 0): (None, 1)})
    assert sink.query(f"SELECT count(*) FROM {layout.ROWS_TABLE}") == [(1,)]
    assert sink.stored_offsets() == {("w", 0): 1}
    sink.close()


def test_an_unknown_target_is_a_one_line_error() -> None:
    with pytest.raises(LoadTargetError, match="expected duckdb:PATH or postgresql://"):
        open_sink("mysql://x")
    proc = subprocess.run([sys.executable, "-m", "eventyard.cli", "load", "--to", "mysql://x",
                           "--check"], capture_output=True, text=True, cwd=REPO, check=False)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_check_reports_an_eventid_loaded_twice(tmp_path: Path) -> None:
    target = f"duckdb:{tmp_path / 'w.duckdb'}"
    sink = open_sink(target)
    sink.prepare([])
    value = orjson.dumps(RECORD)
    sink.write([layout.row_of("w", 0, 0, value), layout.row_of("w", 0, 1, value)],
               {("w", 0): (None, 2)})
    sink.close()
    proc = subprocess.run([sys.executable, "-m", "eventyard.cli", "load", "--to", target,
                           "--check"], capture_output=True, text=True, cwd=REPO, check=False)
    assert proc.returncode == 1
    assert "warehouse: eventId e-1 loaded 2 times" in proc.stderr


def test_the_documented_layout_is_the_code() -> None:
    assert layout.markdown_table() in (REPO / "docs" / "loader.md").read_text()
