"""Serves the browser tracker (tracker.js, next to this module) with a validator, so a
browser revalidates it cheaply and picks up a new edge's version."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.resources import files

from aiohttp import web

CACHE_CONTROL = "public, max-age=300"


@cache
def asset() -> tuple[bytes, str]:
    body = files("eventyard.ingest").joinpath("tracker.js").read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


def response(request: web.Request) -> web.Response:
    body, etag = asset()
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/javascript", charset="utf-8",
                        headers=headers)
