"""The bench's reporting without a broker: results.json keeps the keys dashboards and the
README read, the table renders, verdicts compare the right way. No timing is asserted."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import orjson
from bench import latency
from bench.run import table, verdicts, write_results


def _run(eps: float) -> dict[str, Any]:
    return {"median": eps, "min": eps * 0.9, "max": eps * 1.1, "runs": [eps],
            "cpu_us_per_event": 100.0, "details": []}


def sample() -> dict[str, Any]:
    return {
        "machine": "test box", "code": {"git_head": "abc", "src_sha256": "0"}, "events": 1000,
        "partitions": 8, "repeats": 1,
        "broker": "Tansu", "bench_seconds": 1.0, "quick": True,
        "input": {"valid": 950, "duplicates": 50, "invalid": 50, "unique": 900,
                  "ads": 1200, "crm": 900, "warehouse": 900},
        "throughput": {
            "floor_eps": 10_000.0, "floor_outputs_only_eps": 20_000.0, "worker_eps": 8_000.0,
            "ratio": 0.8, "ratio_vs_outputs_only": 0.4, "two_workers_eps": 12_000.0,
            "scaleout": 1.5, "ratio_paired": 0.65, "scaleout_paired": 1.65,
            "runs": {k: _run(v) for k, v in (
                ("floor_full", 10_000.0), ("floor_outputs", 20_000.0),
                ("floor_full_send", 5_000.0), ("worker", 8_000.0), ("two_workers", 12_000.0))},
        },
        "latency_ms": {"offered_eps": 4000.0, "achieved_eps": 3990.0, "events": 60_000,
                       "samples": 50_000, "p50": 10.0, "p95": 30.0, "p99": 60.0, "max": 90.0,
                       "first_p50": 8.0, "first_p99": 20.0, "last_p50": 12.0, "last_p99": 80.0,
                       "mean": 11.5, "fetch_wait_mean": 6.25,
                       "floor": {"achieved_eps": 3990.0, "events": 60_000, "samples": 50_000,
                                 "p50": 4.0, "p95": 9.0, "p99": 17.0, "max": 30.0,
                                 "first_p50": 4.0, "first_p99": 15.0, "last_p50": 4.0,
                                 "last_p99": 18.0}},
        "broker_drift": {"records_per_s": 2000, "partitions": 8,
                         "runs": [{"records_per_batch": 1, "stored_batches": 30_000,
                                   "fetch_p50_first_ms": 3.5, "fetch_p50_last_ms": 21.5,
                                   "ack32_first_ms": 1.25, "ack32_last_ms": 3.0}]},
        "core": {"floor_us": 1.0, "validate_us": 7.0, "core_us": 5.0, "ratio": 5.0,
                 "single_pass_us": 8.0,
                 "validate_ratio": 7.0, "events": 1000},
        "dedup": {"ids": 1_000_000, "bytes_per_id": 100.0, "object_bytes_per_id": 90.0,
                  "rss_delta_mib": 95.0, "process_rss_mib": 110.0,
                  "buckets_per_partition": 49, "miss_lookup_us": 11.0, "worker_rss_mib": 150.0,
                  "worker_ids_held": 900, "worker_rss_at_1m_ids_mib": 245.0},
    }


def test_results_json_has_the_documented_keys(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    write_results(sample(), out)
    r = orjson.loads(out.read_bytes())
    assert {"machine", "events", "throughput", "latency_ms", "core", "dedup"} <= r.keys()
    assert {"floor_eps", "worker_eps", "ratio", "two_workers_eps", "scaleout"} <= r[
        "throughput"].keys()
    assert {"offered_eps", "p50", "p95", "p99"} <= r["latency_ms"].keys()
    assert {"floor_us", "core_us", "ratio"} <= r["core"].keys()
    assert r["dedup"]["ids"] == 1_000_000 and "bytes_per_id" in r["dedup"]
    assert not out.with_suffix(".json.tmp").exists()


def test_verdicts_and_table() -> None:
    # Throughput targets are judged on the paired ratios (0.65, 1.65), not on the ratios
    # of the medians (0.8, 1.5), which would give the opposite verdicts here.
    met = {label: ok for label, _, ok in verdicts(sample())}
    assert met == {
        "1 worker ≥ 0.5× floor (full volume, paired)": True,
        "1 worker ≥ 0.7× floor (goal beyond, paired)": False,
        "p99 ≤ 1.5× bare echo p99 at 50% load": False,  # 60 / 17 = 3.53
        "p99 ≤ 50 ms at 50% load": False,
        "2 workers ≥ 1.6× one (paired)": True,
        "dedup ≤ 200 bytes/id": True,
        "core ≤ 8× orjson floor": True,
        "core ≤ 6× orjson floor (goal beyond)": True,
    }
    text = table(sample())
    assert "MISSED" in text and "8,000" in text
    assert "1 worker / floor" in text and "0.65" in text
    assert "floor: bare aiokafka echo" in text and "17" in text
    assert "eventyard p99 / echo p99" in text and "3.53" in text
    assert "drift over the run" in text and "80" in text
    assert "every run wrote exactly the expected records" in text
    assert "mean 11.5 ms, of which raw CreateTime → fetched" in text and "6.2 ms" in text
    assert "1 record(s)/batch: fetch p50 3.5 → 21.5 ms" in text and "30,000 batches" in text


def test_table_shouts_about_a_count_mismatch() -> None:
    r = sample()
    r["throughput"]["runs"]["two_workers"]["details"] = [
        {"count_errors": ["x.warehouse: 89889 records, expected 90105"]}]
    text = table(r)
    assert "RECORD COUNT MISMATCH" in text and "two_workers run 1" in text


def test_paired_ratio_is_the_median_of_per_repeat_ratios() -> None:
    from bench.harness import RunResult
    from bench.run import paired

    worker = [RunResult(eps, 1.0) for eps in (10.0, 30.0, 14.0)]
    floor = [RunResult(eps, 1.0) for eps in (20.0, 40.0, 56.0)]
    assert paired(worker, floor) == 0.5  # ratios 0.5, 0.75, 0.25


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert latency.percentile(values, 50) == 50.0
    assert latency.percentile(values, 99) == 99.0
    assert latency.percentile([7.0], 99) == 7.0


def test_fetch_wait_mean_weighs_seconds_by_their_observations() -> None:
    # (sum s, count) increments of eventyard_fetch_wait_seconds per second
    assert latency._fetch_wait_ms([(0.1, 10.0), (0.9, 30.0)]) == 25.0
    assert math.isnan(latency._fetch_wait_ms([(0.0, 0.0)]))


def test_broker_drift_summary_reads_first_and_last_second() -> None:
    from bench.broker_drift import Second, summary

    secs = [Second(2000, [3.0, 4.0, 5.0], {32: [1.0]}), Second(4000, [9.0], {}),
            Second(6000, [20.0, 30.0], {32: [2.0, 4.0]})]
    [out] = summary({1: secs})
    assert (out["records_per_batch"], out["stored_batches"]) == (1, 6000)
    assert (out["fetch_p50_first_ms"], out["fetch_p50_last_ms"]) == (4.0, 25.0)
    assert (out["ack32_first_ms"], out["ack32_last_ms"]) == (1.0, 3.0)
