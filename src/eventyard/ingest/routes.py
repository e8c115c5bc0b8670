"""The endpoints. Every answer is JSON except /metrics and the tracker.

POST /v1/events            raw contract events: one object or an array
POST /v1/batch             Segment/RudderStack batch ({"batch": [...]})
POST /v1/track, /v1/page   one Segment call
POST /v1/identify|screen|group|alias   answered, not routed (segment.py says why)
GET  /v1/tracker.js        the browser tracker
GET  /healthz, /metrics
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from eventyard.errors import IngestRefused as Refused
from eventyard.ingest import segment, tracker
from eventyard.ingest.body import read_body
from eventyard.ingest.edge import Edge
from eventyard.ingest.intake import Intake

EDGE: web.AppKey[Edge] = web.AppKey("edge", Edge)


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None
                  ) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body),
                        content_type="application/json", headers=headers)


def refused(exc: Refused) -> web.Response:
    return json_response(exc.status, {"error": {"code": exc.code, "detail": exc.detail}},
                         exc.headers)


async def _parsed(edge: Edge, request: web.Request) -> tuple[bytes, Any]:
    body, wire = await read_body(request, edge.ingest.max_body_bytes)
    edge.metrics.bytes.inc(wire)
    try:
        return body, orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Refused(400, "decode.invalid_json",
                      f"body: not valid JSON ({exc.args[0][:80]})") from None


def _check_count(edge: Edge, n: int) -> None:
    if n > edge.ingest.max_events:
        raise Refused(413, "request.too_many_events",
                      f"body: {n} events, over the limit of {edge.ingest.max_events} "
                      "(EVENTYARD_INGEST_MAX_EVENTS)")
    if n == 0:
        raise Refused(400, "request.empty", "body: no events")


async def _finish(edge: Edge, intake: Intake) -> web.Response:
    if intake.sends:
        await edge.ship_and_wait(intake.sends)
    m = edge.metrics
    if intake.accepted:
        m.accepted.labels(intake.endpoint).inc(intake.accepted)
    for r in intake.rejected:
        m.rejected.labels(r["reason"]).inc()
    for i in intake.ignored:
        m.ignored.labels(i["type"]).inc()
    return json_response(intake.status, intake.answer())


async def events(request: web.Request) -> web.Response:
    edge = request.app[EDGE]
    edge.admit_request(request)
    body, doc = await _parsed(edge, request)
    intake = Intake(edge.settings, "events", int(time.time() * 1000))
    if isinstance(doc, list):
        _check_count(edge, len(doc))
        for i, item in enumerate(doc):
            intake.add(i, item)
    else:
        # One event: its bytes go to the raw topic exactly as sent.
        intake.add(0, doc, body)
    return await _finish(edge, intake)


async def batch(request: web.Request) -> web.Response:
    edge = request.app[EDGE]
    edge.admit_request(request)
    _, doc = await _parsed(edge, request)
    items = doc.get("batch") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise Refused(400, "request.segment", 'body: a Segment batch is {"batch": [calls]}')
    _check_count(edge, len(items))
    intake = Intake(edge.settings, "batch", int(time.time() * 1000))
    for i, message in enumerate(items):
        _segment_call(intake, i, message, doc.get("context"), None)
    return await _finish(edge, intake)


def _segment_call(intake: Intake, index: int, message: Any, context: Any, call: str | None
                  ) -> None:
    event = segment.to_event(message, context, call)
    if isinstance(event, segment.Ignored):
        intake.ignore(index, message, event)
    else:
        intake.add(index, event)


def single_call(call: str, endpoint: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        edge = request.app[EDGE]
        edge.admit_request(request)
        _, doc = await _parsed(edge, request)
        intake = Intake(edge.settings, endpoint, int(time.time() * 1000))
        _segment_call(intake, 0, doc, None, call)
        return await _finish(edge, intake)

    return handler


async def tracker_js(request: web.Request) -> web.StreamResponse:
    return tracker.response(request)


async def healthz(request: web.Request) -> web.Response:
    edge = request.app[EDGE]
    if edge.shipper is None:
        return web.Response(status=503, text="starting\n")
    waiting = edge.shipper.waiting_s()
    if waiting > edge.ingest.ack_timeout_s:
        return web.Response(status=503, text=f"waiting {waiting:.0f}s for the broker\n")
    if edge.failing or not edge.shipper.last_ok:
        return web.Response(status=503, text="the broker did not acknowledge the last send\n")
    return web.Response(text="ok\n")


async def metrics(request: web.Request) -> web.Response:
    edge = request.app[EDGE]
    return web.Response(body=generate_latest(edge.metrics.registry),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})


ENDPOINT_OF = {
    "/v1/events": "events", "/v1/batch": "batch", "/v1/track": "track", "/v1/page": "page",
    "/v1/identify": "identify", "/v1/tracker.js": "tracker",
}


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/events", events)
    app.router.add_post("/v1/batch", batch)
    app.router.add_post("/v1/track", single_call("track", "track"))
    app.router.add_post("/v1/page", single_call("page", "page"))
    for call in segment.IGNORED_TYPES:
        endpoint = ENDPOINT_OF.get(f"/v1/{call}", "other")
        app.router.add_post(f"/v1/{call}", single_call(call, endpoint))
    app.router.add_get("/v1/tracker.js", tracker_js)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
