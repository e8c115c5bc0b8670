"""The aiohttp application: middleware (CORS, errors, request metrics), lifecycle of the
producer, and the server.

aiohttp because faust already brings it (no new dependency), it is asyncio-native like
aiokafka, so a request awaits its acknowledgement on the same loop that produces, and its
server streams request bodies, which lets the size limit stop a body before it is read.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest

from eventyard.errors import IngestRefused as Refused
from eventyard.ingest.edge import Edge
from eventyard.ingest.metrics import ENDPOINTS
from eventyard.ingest.routes import EDGE, ENDPOINT_OF, add_routes, refused
from eventyard.ingest.shipper import Shipper
from eventyard.kafka import clients as kafka
from eventyard.kafka.producer import BatchSender

log = logging.getLogger("eventyard.ingest")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ALLOW_HEADERS = "Authorization, Content-Type, Content-Encoding, X-Write-Key"
PREFLIGHT_MAX_AGE_S = "600"
SHUTDOWN_DRAIN_S = 10.0


def _cors_headers(edge: Edge, request: web.Request) -> dict[str, str]:
    origin = request.headers.get("Origin")
    allowed = edge.ingest.origins
    if not origin or not ("*" in allowed or origin.rstrip("/") in allowed):
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        # sendBeacon sends with credentials; the answer must name the origin and allow them.
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Expose-Headers": "Retry-After",
        "Vary": "Origin",
    }


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    edge = request.app[EDGE]
    endpoint = ENDPOINT_OF.get(request.path, "other")
    cors = _cors_headers(edge, request)
    if request.method == "OPTIONS":
        if not cors:
            response: web.StreamResponse = web.Response(status=403, text="origin not allowed\n")
        else:
            response = web.Response(status=204, headers={
                **cors,
                "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
                "Access-Control-Allow-Headers": ALLOW_HEADERS,
                "Access-Control-Max-Age": PREFLIGHT_MAX_AGE_S,
            })
    else:
        try:
            response = await handler(request)
        except Refused as exc:
            response = refused(exc)
        except web.HTTPException as exc:  # 404, 405 from the router
            response = refused(Refused(exc.status, "request.route", exc.reason))
        except Exception:
            log.exception("ingest: unhandled error on %s", request.path)
            response = refused(Refused(500, "internal.error", "the edge failed (a bug)"))
        response.headers.update(cors)
    edge.metrics.requests.labels(endpoint if endpoint in ENDPOINTS else "other",
                                 str(response.status)).inc()
    return response


class AccessLogger(AbstractAccessLogger):
    """Path without the query string: `?writeKey=` must never reach a log."""

    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.debug("%s %s %d %.1f ms", request.method, request.path, response.status,
                          time * 1000)


async def _start_producer(app: web.Application) -> None:
    edge = app[EDGE]
    if edge.producer is None:
        edge.producer = kafka.producer(edge.settings)
        await edge.producer.start()
    sender = BatchSender(edge.producer)
    # Learn the raw and dead-letter topics' partitions now, not on the first request.
    for topic in (edge.settings.topic_raw, edge.settings.topic_dlq):
        await sender.partition_count(topic)
    edge.shipper = Shipper(sender)


async def _stop_producer(app: web.Application) -> None:
    edge = app[EDGE]
    if edge.shipper is not None:
        await edge.shipper.drain(SHUTDOWN_DRAIN_S)
    if edge.producer is not None:
        await edge.producer.stop()


def build_app(edge: Edge) -> web.Application:
    app = web.Application(middlewares=[middleware], client_max_size=edge.ingest.max_body_bytes)
    app[EDGE] = edge
    add_routes(app)
    app.on_startup.append(_start_producer)
    app.on_cleanup.append(_stop_producer)
    return app


def runner(app: web.Application) -> web.AppRunner:
    # auto_decompress off: body.py applies the size limit to the decoded bytes itself.
    return web.AppRunner(app, access_log_class=AccessLogger, auto_decompress=False,
                         handle_signals=True)
