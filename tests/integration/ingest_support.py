"""Helpers for the ingest edge's integration tests: an edge per test namespace, and
requests over real HTTP."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from eventyard.local.broker import free_port
from eventyard.local.edge import EdgeProcess

from .conftest import REPO, Yard

SERVER_KEY = "sk-test-server-0123456789"
BROWSER_KEY = "bk-test-browser-0123456789"
ORIGIN = "http://app.example.test"


def start_edge(yard: Yard, name: str = "edge", **ingest: str) -> EdgeProcess:
    env = {
        **yard.env,
        "EVENTYARD_INGEST_KEYS": f"{SERVER_KEY},{BROWSER_KEY}:browser",
        "EVENTYARD_INGEST_CORS_ORIGINS": ORIGIN,
        **{f"EVENTYARD_INGEST_{k.upper()}": v for k, v in ingest.items()},
    }
    edge = EdgeProcess(env, yard.tmp / f"{name}.log", free_port(), cwd=REPO)
    return edge.start()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


async def post(
    edge: EdgeProcess,
    path: str,
    payload: Any = None,
    *,
    raw: bytes | None = None,
    key: str | None = SERVER_KEY,
    how: str = "header",
    gzipped: bool = False,
    headers: dict[str, str] | None = None,
) -> Answer:
    data = raw if raw is not None else orjson.dumps(payload)
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    url = edge.url + path
    auth = None
    if key is not None:
        if how == "header":
            hdrs["X-Write-Key"] = key
        elif how == "basic":
            auth = aiohttp.BasicAuth(key, "")
        else:
            url += f"?writeKey={key}"
    if gzipped:
        data = gzip.compress(data)
        hdrs["Content-Encoding"] = "gzip"
    async with aiohttp.ClientSession() as session, session.post(
        url, data=data, headers=hdrs, auth=auth
    ) as r:
        text = await r.read()
        try:
            body = orjson.loads(text)
        except orjson.JSONDecodeError:
            body = text
        return Answer(r.status, dict(r.headers), body)


def event(event_id: str, name: str = "SignUp", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"event": name, "eventId": event_id, "userId": "user-42"}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}
