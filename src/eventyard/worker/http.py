"""/metrics and /healthz, served by the faust app's web server (faust.web on aiohttp).

Nothing else: faust's own views (`/`, `/router/`, `/table/`, ...) are not mounted, so any
other path is aiohttp's plain 404, and no request can reach code that raises a traceback.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import faust
from faust.web.base import BlueprintManager
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from eventyard.telemetry import Telemetry

# A loop that has not come round for this long is stuck (a fetch waits at most
# fetch_timeout_ms, a batch seconds at most).
STALL_AFTER_S = 60.0


def register(app: faust.App, telemetry: Telemetry, health: Callable[[], tuple[bool, str]]) -> None:
    # faust mounts its built-in views (index, router, tables, stats) from this manager when
    # the server starts; an empty one leaves only the two pages below.
    app.web.blueprints = BlueprintManager()

    @app.page("/metrics", name="metrics")
    async def metrics(web: Any, request: Any) -> Any:
        # Content-Type goes in headers: aiohttp refuses a charset inside content_type.
        return web.bytes(
            generate_latest(telemetry.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    @app.page("/healthz", name="healthz")
    async def healthz(web: Any, request: Any) -> Any:
        ok, detail = health()
        return web.text(detail + "\n", status=200 if ok else 503)


def loop_health(
    running: Callable[[], bool],
    last_progress: Callable[[], float],
    policy_status: Callable[[], str] = lambda: "",
) -> tuple[bool, str]:
    # A stale policy is reported but stays healthy (200): restarting the worker would not
    # fix the file, and a restart with a bad file on disk cannot start at all.
    policy = policy_status()
    suffix = f"\n{policy}" if policy else ""
    if not running():
        return False, "starting or stopping" + suffix
    idle = time.monotonic() - last_progress()
    if idle > STALL_AFTER_S:
        return False, f"routing loop stalled for {idle:.0f}s" + suffix
    return True, "ok" + suffix
