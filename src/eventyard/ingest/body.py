"""Reading a request body within the size limit, gzip included.

aiohttp's own decoding is switched off (app.py) so the limit applies to both the bytes on
the wire and the decoded bytes: a small gzip body cannot inflate past
`EVENTYARD_INGEST_MAX_BODY_BYTES`.
"""

from __future__ import annotations

import zlib

from aiohttp import web

from eventyard.errors import IngestRefused as BodyError

CHUNK = 65536


def too_large(limit: int) -> BodyError:
    return BodyError(
        413, "request.too_large",
        f"body: over the {limit}-byte limit (EVENTYARD_INGEST_MAX_BODY_BYTES)",
    )


async def read_body(request: web.Request, limit: int) -> tuple[bytes, int]:
    """(decoded body, bytes received)."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)
    parts: list[bytes] = []
    size = 0
    while chunk := await request.content.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        parts.append(chunk)
    wire = b"".join(parts)
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("identity", ""):
        return wire, size
    if encoding not in ("gzip", "x-gzip"):
        raise BodyError(415, "request.encoding",
                        "Content-Encoding: only gzip (or none) is accepted")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(wire, limit + 1)
    except zlib.error:
        raise BodyError(400, "request.gzip", "body: not a valid gzip stream") from None
    if len(body) > limit or inflater.unconsumed_tail:
        raise too_large(limit)
    if not inflater.eof:
        raise BodyError(400, "request.gzip", "body: the gzip stream is truncated")
    return body, size
