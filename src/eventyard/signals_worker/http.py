"""/metrics and /healthz of the signals processor (eventyard.metrics_server)."""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry

from eventyard.metrics_server import start_metrics_server

STALL_AFTER_S = 60.0


async def serve(
    registry: CollectorRegistry, host: str, port: int,
    running: Callable[[], bool], last_progress: Callable[[], float],
) -> web.AppRunner:
    def health() -> tuple[bool, str]:
        if not running():
            return False, "starting or stopping"
        idle = time.monotonic() - last_progress()
        if idle > STALL_AFTER_S:
            return False, f"loop stalled for {idle:.0f}s"
        return True, "ok"

    return await start_metrics_server(registry, host, port, health)
