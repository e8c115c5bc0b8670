"""/metrics (Prometheus text) and /healthz of the signals processor, on aiohttp."""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

STALL_AFTER_S = 60.0


async def serve(
    registry: CollectorRegistry, host: str, port: int,
    running: Callable[[], bool], last_progress: Callable[[], float],
) -> web.AppRunner:
    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(request: web.Request) -> web.Response:
        if not running():
            return web.Response(text="starting or stopping\n", status=503)
        idle = time.monotonic() - last_progress()
        if idle > STALL_AFTER_S:
            return web.Response(text=f"loop stalled for {idle:.0f}s\n", status=503)
        return web.Response(text="ok\n")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
