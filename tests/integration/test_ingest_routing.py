"""Events sent over HTTP arrive routed on the output topics: raw contract batches (plain
and gzip) and Segment-spec track calls, through the edge, the broker and a worker."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import orjson
import pytest

from .conftest import Record, Yard
from .ingest_support import event, post, start_edge

pytestmark = pytest.mark.integration


def _by_event_id(records: list[Record]) -> dict[str, dict[str, object]]:
    out = {}
    for r in records:
        doc = orjson.loads(r.value)
        out[doc["eventId"]] = doc
    return out


async def test_http_batches_and_segment_calls_are_routed(yard: Yard) -> None:
    edge = start_edge(yard)
    worker = yard.worker()
    try:
        ts = int(time.time() * 1000) - 1000
        batch = [
            event("r-signup", email="Ada.Lovelace@Example.com", timestamp=ts, source="server"),
            event("r-purchase", name="Purchase", value=49.0, currency="EUR", timestamp=ts),
            event("r-pageview", name="PageView", anonymousId="anon-5", userId=None,
                  pageUrl="https://www.example-saas.com/pricing"),
            {"event": "SignUp", "userId": "u-no-id"},  # refused by the edge
        ]
        answer = await post(edge, "/v1/events", batch)
        assert answer.status == 200 and answer.body["accepted"] == 3
        gz = await post(edge, "/v1/events", [event("r-gzip", name="StartTrial")], gzipped=True)
        assert gz.status == 200 and gz.body["accepted"] == 1

        iso_now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        segment = {
            "batch": [
                {"type": "track", "event": "Order Completed", "messageId": "seg-order-1",
                 "userId": "user-77", "timestamp": iso_now,
                 "properties": {"revenue": 99.5, "currency": "USD", "orderId": "o-1"},
                 "context": {"ip": "203.0.113.9", "userAgent": "Mozilla/5.0",
                             "page": {"url": "https://app.example.com/checkout"},
                             "traits": {"email": "grace@globex.com", "firstName": "Grace"},
                             "library": {"name": "analytics-node", "version": "2.0"}}},
                {"type": "track", "event": "Signed Up", "messageId": "seg-signup-1",
                 "anonymousId": "anon-seg", "context": {"library": {"name": "analytics.js"}}},
                {"type": "identify", "messageId": "seg-identify-1", "userId": "user-77",
                 "traits": {"email": "grace@globex.com"}},
                {"type": "page", "messageId": "seg-page-1", "anonymousId": "anon-seg",
                 "name": "Pricing", "properties": {"url": "https://www.example.com/pricing"}},
                {"type": "track", "event": "Signed Up", "userId": "user-78"},  # no messageId
            ],
            "sentAt": iso_now,
        }
        seg = await post(edge, "/v1/batch", segment, how="basic")
        assert seg.status == 200, seg.body
        assert seg.body["accepted"] == 3
        assert [(i["index"], i["type"]) for i in seg.body["ignored"]] == [(2, "identify")]
        assert [(r["index"], r["reason"]) for r in seg.body["rejected"]] == [
            (4, "contract.eventId.missing")
        ]
        one = await post(edge, "/v1/track", {"event": "StartTrial", "messageId": "seg-track-1",
                                              "userId": "user-79"})
        assert one.status == 200 and one.body["accepted"] == 1

        wanted = {"r-signup", "r-purchase", "r-pageview", "r-gzip", "seg-order-1",
                  "seg-signup-1", "seg-page-1", "seg-track-1"}
        s = yard.settings
        worker.wait_assigned()
        async with yard.reader() as reader:
            records = await reader.wait_for(
                lambda r: len(_by_event_id(r[s.topic_warehouse])) >= len(wanted), timeout=60
            )
        warehouse = _by_event_id(records[s.topic_warehouse])
        assert set(warehouse) == wanted
        order = warehouse["seg-order-1"]
        assert (order["event"], order["value"], order["currency"]) == ("Purchase", 99.5, "USD")
        assert order["source"] == "server"
        assert warehouse["seg-signup-1"]["event"] == "SignUp"
        assert warehouse["seg-signup-1"]["source"] == "browser"
        assert warehouse["seg-page-1"]["event"] == "PageView"
        # The ad platforms got the Segment order too, with the email hashed.
        ads = [orjson.loads(r.value) for r in records[s.topic_ads]]
        order_ads = [a for a in ads if a["eventId"] == "seg-order-1"]
        assert order_ads and all("grace@globex.com" not in orjson.dumps(a).decode()
                                 for a in order_ads)
        # The refused ones are on the dead-letter topic, written by the edge.
        assert len(records[s.topic_dlq]) == 2
    finally:
        edge.kill()
