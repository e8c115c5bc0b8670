"""The worker's HTTP server serves /metrics and /healthz and nothing else (issue 15)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from .conftest import Yard

pytestmark = pytest.mark.integration


def get(port: int, path: str, method: str = "GET") -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_only_metrics_and_healthz_are_served(yard: Yard) -> None:
    worker = yard.worker()
    worker.wait_assigned()
    port = worker.metrics_port
    assert get(port, "/metrics")[0] == 200
    assert get(port, "/healthz")[0] == 200
    # faust's own views (index, router, tables, stats, graph) and anything else
    for path in ("/", "/router/", "/router/nope/", "/router/nope/x/", "/table/",
                 "/table/nope/", "/graph/", "/stats/", "/performance/", "/x" * 50):
        status, body = get(port, path)
        assert status == 404, (path, status)
        assert b"Traceback" not in body and len(body) < 200, path
    assert get(port, "/metrics", method="POST")[0] in (404, 405)
    worker.terminate()
    log = worker.log()
    assert "Traceback" not in log
    assert "Error handling request" not in log
