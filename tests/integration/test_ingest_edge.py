"""The ingest edge over real HTTP against the session broker: per-event answers, the
dead-letter copies of refused events, gzip, auth, limits, CORS. Routing through a worker
is in test_ingest_routing.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
import orjson
import pytest

from eventyard.local.edge import EdgeProcess

from .conftest import Record, Yard, headers_of
from .ingest_support import BROWSER_KEY, ORIGIN, SERVER_KEY, event, post, start_edge

pytestmark = pytest.mark.integration


@pytest.fixture
def edge(yard: Yard) -> Iterator[EdgeProcess]:
    e = start_edge(yard, max_body_bytes="8192", max_events="10")
    yield e
    e.kill()


async def read(yard: Yard, want: dict[str, int]) -> dict[str, list[Record]]:
    s = yard.settings
    names = {"raw": s.topic_raw, "dlq": s.topic_dlq}
    async with yard.reader() as reader:
        records = await reader.wait_for(
            lambda r: all(len(r[names[t]]) >= n for t, n in want.items()), timeout=30
        )
    return {t: records[names[t]] for t in names}


async def test_mixed_batch_answers_per_event_and_dead_letters_the_refused(
    yard: Yard, edge: EdgeProcess
) -> None:
    batch: list[Any] = [
        event("ok-1", email="ada@example.com"),
        {"event": "SignUp", "userId": "u-1"},                     # no eventId
        {"event": "SignUp", "eventId": "no-identity"},            # no identity
        "just a string",                                          # not an object
        event("bad id with spaces"),                              # eventId format
        event("ok-2", name="PageView", anonymousId="anon-1", userId=None),
    ]
    answer = await post(edge, "/v1/events", batch)
    assert answer.status == 200, answer.body
    assert answer.body["accepted"] == 2
    rejected = {r["index"]: r for r in answer.body["rejected"]}
    assert {i: r["reason"] for i, r in rejected.items()} == {
        1: "contract.eventId.missing",
        2: "contract.identity.missing",
        3: "decode.not_object",
        4: "contract.eventId.format",
    }
    assert rejected[2]["eventId"] == "no-identity" and rejected[1]["eventId"] is None

    empty = await post(edge, "/v1/events", raw=b"[ ]")
    assert empty.status == 400 and empty.body["error"]["code"] == "request.empty"

    records = await read(yard, {"raw": 2, "dlq": 4})
    raw = {r.key: r for r in records["raw"]}
    assert set(raw) == {b"ok-1", b"ok-2"}  # keyed by eventId
    assert orjson.loads(raw[b"ok-1"].value)["email"] == "ada@example.com"
    dlq = records["dlq"]
    assert len(dlq) == 4
    reasons = sorted(headers_of(r)["eventyard-reason"].decode() for r in dlq)
    assert reasons == sorted(r["reason"] for r in rejected.values())
    for r in dlq:
        h = headers_of(r)
        assert h["eventyard-ingest"] == b"events"
        assert h["eventyard-source-topic"] == yard.settings.topic_raw.encode()
        assert h["eventyard-detail"]
    assert any(r.value == b'"just a string"' for r in dlq)  # the event's bytes, as sent


async def test_single_event_keeps_its_bytes_and_all_refused_is_400(
    yard: Yard, edge: EdgeProcess
) -> None:
    body = b'{"event": "SignUp",  "eventId": "single-1", "userId": "u-9"}'
    answer = await post(edge, "/v1/events", raw=body)
    assert (answer.status, answer.body) == (200, {"accepted": 1, "rejected": []})
    # No identity, and a field the contract does not know: the contract's decode names the
    # unknown field first (the likely typo), exactly as the worker's dead letter would.
    refused = await post(edge, "/v1/events", [{"event": "SignUp", "eventId": "e", "userid": 1}])
    assert refused.status == 400
    assert refused.body["accepted"] == 0
    assert refused.body["rejected"][0]["reason"] == "contract.unknown_field"
    assert "did you mean 'userId'" in refused.body["rejected"][0]["detail"]
    broken = await post(edge, "/v1/events", raw=b'{"event": ')
    assert broken.status == 400 and broken.body["error"]["code"] == "decode.invalid_json"
    records = await read(yard, {"raw": 1, "dlq": 1})
    assert [r.value for r in records["raw"]] == [body]


async def test_gzip_bodies_are_decoded(yard: Yard, edge: EdgeProcess) -> None:
    batch = [event(f"gz-{i}") for i in range(5)]
    answer = await post(edge, "/v1/events", batch, gzipped=True)
    assert (answer.status, answer.body["accepted"]) == (200, 5)
    bad = await post(edge, "/v1/events", raw=b"not gzip at all",
                     headers={"Content-Encoding": "gzip"})
    assert bad.status == 400 and bad.body["error"]["code"] == "request.gzip"
    records = await read(yard, {"raw": 5})
    assert sorted(r.key for r in records["raw"]) == sorted(f"gz-{i}".encode() for i in range(5))


async def test_write_keys(yard: Yard, edge: EdgeProcess) -> None:
    one = [event("auth-ok-1")]
    assert (await post(edge, "/v1/events", one, key=None)).status == 401
    wrong = await post(edge, "/v1/events", one, key="sk-test-server-0123456780")
    assert wrong.status == 401 and "WWW-Authenticate" in wrong.headers
    assert SERVER_KEY not in orjson.dumps(wrong.body).decode()
    # A server key is never accepted in a URL, nor from a web page.
    assert (await post(edge, "/v1/events", one, how="query")).status == 401
    from_page = await post(edge, "/v1/events", one, headers={"Origin": ORIGIN})
    assert from_page.status == 401
    # Accepted: Basic auth (Segment's convention), X-Write-Key, and a browser key in the URL.
    assert (await post(edge, "/v1/events", [event("auth-ok-1")], how="basic")).status == 200
    assert (await post(edge, "/v1/events", [event("auth-ok-2")])).status == 200
    beacon = await post(edge, "/v1/events", [event("auth-ok-3")], key=BROWSER_KEY, how="query",
                        headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": ORIGIN})
    assert beacon.status == 200 and beacon.headers["Access-Control-Allow-Origin"] == ORIGIN
    records = await read(yard, {"raw": 3})
    assert sorted(r.key for r in records["raw"]) == [b"auth-ok-1", b"auth-ok-2", b"auth-ok-3"]
    edge.terminate()
    assert SERVER_KEY not in edge.log() and BROWSER_KEY not in edge.log()


async def test_body_and_count_limits_answer_413(yard: Yard, edge: EdgeProcess) -> None:
    big = [event(f"big-{i}", properties={"pad": "x" * 1000}) for i in range(9)]
    too_big = await post(edge, "/v1/events", big)
    assert too_big.status == 413 and too_big.body["error"]["code"] == "request.too_large"
    # A small gzip body that inflates past the limit is refused as well.
    bomb = await post(edge, "/v1/events", raw=b"[" + b" " * 100_000 + b"]", gzipped=True)
    assert bomb.status == 413
    many = await post(edge, "/v1/events", [event(f"n-{i}") for i in range(11)])
    assert many.status == 413 and many.body["error"]["code"] == "request.too_many_events"
    assert "EVENTYARD_INGEST_MAX_EVENTS" in many.body["error"]["detail"]
    assert (await post(edge, "/v1/events", [event("after-limits")])).status == 200
    records = await read(yard, {"raw": 1})
    assert [r.key for r in records["raw"]] == [b"after-limits"]


async def test_token_buckets_answer_429_with_retry_after(yard: Yard) -> None:
    edge = start_edge(yard, "limited", key_rate="0.2", key_burst="3", ip_rate="0.2",
                      ip_burst="2")
    try:
        server = [await post(edge, "/v1/events", [event(f"rl-{i}")]) for i in range(4)]
        assert [a.status for a in server] == [200, 200, 200, 429]
        limited = server[-1]
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.body["error"]["code"] == "rate_limited.key"
        # A browser key is limited per IP too (burst 2 here), before its key bucket.
        browser = [await post(edge, "/v1/events", [event(f"rb-{i}")], key=BROWSER_KEY)
                   for i in range(3)]
        assert [a.status for a in browser] == [200, 200, 429]
        assert browser[-1].body["error"]["code"] == "rate_limited.ip"
        assert int(browser[-1].headers["Retry-After"]) >= 1
        metrics = await metrics_text(edge)
        assert 'eventyard_ingest_rate_limited_total{scope="key"} 1.0' in metrics
        assert 'eventyard_ingest_rate_limited_total{scope="ip"} 1.0' in metrics
    finally:
        edge.kill()


async def metrics_text(edge: EdgeProcess) -> str:
    async with aiohttp.ClientSession() as s, s.get(edge.url + "/metrics") as r:
        return await r.text()


async def test_cors_preflight_and_origins(yard: Yard, edge: EdgeProcess) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.options(edge.url + "/v1/events", headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-write-key",
        }) as r:
            assert r.status == 204
            assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
            assert "POST" in r.headers["Access-Control-Allow-Methods"]
            allowed = r.headers["Access-Control-Allow-Headers"].lower()
            assert "x-write-key" in allowed and "content-type" in allowed
            assert int(r.headers["Access-Control-Max-Age"]) > 0
        async with s.options(edge.url + "/v1/events", headers={
            "Origin": "http://evil.example.test", "Access-Control-Request-Method": "POST",
        }) as r:
            assert r.status == 403 and "Access-Control-Allow-Origin" not in r.headers
    other = await post(edge, "/v1/events", [event("cors-1")], key=BROWSER_KEY,
                       headers={"Origin": "http://evil.example.test"})
    assert other.status == 403 and "Access-Control-Allow-Origin" not in other.headers


async def test_metrics_and_health(yard: Yard, edge: EdgeProcess) -> None:
    await post(edge, "/v1/events", [event("m-1"), {"event": "SignUp", "userId": "u"}])
    await post(edge, "/v1/events", [event("m-2")], key="nope")
    text = await metrics_text(edge)
    for line in (
        'eventyard_ingest_requests_total{endpoint="events",status="200"} 1.0',
        'eventyard_ingest_requests_total{endpoint="events",status="401"} 1.0',
        'eventyard_ingest_events_accepted_total{endpoint="events"} 1.0',
        'eventyard_ingest_events_rejected_total{reason="contract.eventId.missing"} 1.0',
        "eventyard_ingest_ack_seconds_count 1.0",
    ):
        assert line in text, line
    assert "eventyard_ingest_request_bytes_total" in text
