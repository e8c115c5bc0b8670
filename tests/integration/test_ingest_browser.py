"""The browser tracker in a real headless Chromium (Debian's package), against a running
edge, broker and worker: a page calls track, and the event arrives routed; a page that is
left with events still queued hands them over with navigator.sendBeacon.

Driven with Playwright's Python package, pointed at /usr/bin/chromium (executable_path):
no browser download, and the async API runs on the test's own event loop. The page is
served from another origin than the edge, so CORS (preflight included) is exercised too.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from eventyard.local.broker import free_port

from .conftest import Yard
from .ingest_support import BROWSER_KEY, start_edge

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

PAGE = """<!doctype html><html><head><title>{title}</title>
<script src="{edge}/v1/tracker.js" data-write-key="{key}" data-flush-ms="{flush_ms}"></script>
</head><body><script>{script}</script></body></html>"""

FIRST = """eventyard.identify("user-77", {email: "ada.lovelace@example.com", firstName: "Ada"});
window.trackedId = eventyard.track("SignUp", {plan: "team"});"""
# Leaves a note of every sendBeacon call in sessionStorage, which outlives the page.
SECOND = """var beacon = navigator.sendBeacon.bind(navigator);
navigator.sendBeacon = function (url, body) {
  var ok = beacon(url, body);
  sessionStorage.setItem("beacons", JSON.stringify(
    JSON.parse(sessionStorage.getItem("beacons") || "[]").concat([{url: url, ok: ok}])));
  return ok;
};
window.trackedId = eventyard.track("DemoBooked", {calendar: "sales"});"""


@pytest.fixture
async def pages() -> AsyncIterator[tuple[str, dict[str, str]]]:
    """A plain web server on another port (another origin) serving the test pages."""
    content: dict[str, str] = {}

    async def serve(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return web.Response(text=content.get(name, "<p>bye</p>"), content_type="text/html")

    app = web.Application()
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", content
    finally:
        await runner.cleanup()


async def test_tracker_in_chromium_events_arrive_routed(
    yard: Yard, pages: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    if CHROMIUM is None:
        pytest.skip("chromium not installed: `make test` installs Debian's chromium package "
                    "(apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.async_api")
    origin, content = pages
    edge = start_edge(yard, cors_origins=origin)
    worker = yard.worker()
    content["first.html"] = PAGE.format(title="first", edge=edge.url, key=BROWSER_KEY,
                                        flush_ms=50, script=FIRST)
    # A flush interval no test outlives: only leaving the page sends this one.
    content["second.html"] = PAGE.format(title="second", edge=edge.url, key=BROWSER_KEY,
                                         flush_ms=600_000, script=SECOND)
    sent: list[dict[str, Any]] = []
    try:
        async with playwright_api.async_playwright() as pw:
            context = await pw.chromium.launch_persistent_context(
                str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
                args=FLAGS,
            )
            context.on("request", lambda r: sent.append(
                {"url": r.url, "method": r.method, "type": r.resource_type}
            ))
            page = await context.new_page()
            await page.goto(f"{origin}/first.html")
            first_id = await page.evaluate("window.trackedId")
            await page.wait_for_function("eventyard._queue() === 0")

            await page.goto(f"{origin}/second.html")
            second_id = await page.evaluate("window.trackedId")
            assert await page.evaluate("eventyard._queue()") == 1  # queued, not sent
            await page.goto(f"{origin}/bye.html")  # page hide: the beacon goes out
            beacons = orjson.loads(await page.evaluate("sessionStorage.getItem('beacons')"))
            await page.close()
            await context.close()

        s = yard.settings
        worker.wait_assigned()
        async with yard.reader() as reader:
            records = await reader.wait_for(
                lambda r: {first_id, second_id} <= {
                    orjson.loads(x.value)["eventId"] for x in r[s.topic_warehouse]
                }, timeout=60,
            )
        warehouse = {orjson.loads(x.value)["eventId"]: orjson.loads(x.value)
                     for x in records[s.topic_warehouse]}
        signup, demo = warehouse[first_id], warehouse[second_id]
        assert (signup["event"], demo["event"]) == ("SignUp", "DemoBooked")
        assert signup["source"] == "browser"
        assert signup["properties"] == {"plan": "team"}
        # identify() stuck: the later page's event carries the same user.
        raw = {orjson.loads(x.value)["eventId"]: orjson.loads(x.value)
               for x in records[s.topic_raw]}
        assert raw[second_id]["userId"] == raw[first_id]["userId"] == "user-77"
        assert raw[first_id]["email"] == "ada.lovelace@example.com"
        assert raw[first_id]["pageUrl"] == f"{origin}/first.html"
        # The first event went with fetch (after a CORS preflight: it sends X-Write-Key),
        # the second with one sendBeacon call that the browser accepted, key in the URL.
        fetches = [r for r in sent if r["method"] == "POST" and "/v1/events" in r["url"]]
        assert [r["type"] for r in fetches] == ["fetch"]
        assert len(beacons) == 1 and beacons[0]["ok"] is True
        assert beacons[0]["url"] == f"{edge.url}/v1/events?writeKey={BROWSER_KEY}"
        assert not records[s.topic_dlq]
    finally:
        edge.kill()
