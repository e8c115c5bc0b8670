"""Write keys: parsing, and finding the key a request carries.

A key arrives as HTTP Basic auth with the key as user name (Segment's convention), as the
`X-Write-Key` header, or, for browser keys only, as `?writeKey=` (navigator.sendBeacon can
set no header). Server keys are refused in a URL (proxies and access logs keep URLs) and
from web pages (a request with an Origin header): a page that holds a key shows it to
every visitor. Every configured key is compared with `hmac.compare_digest`, with no early
exit, so the time taken tells nothing about a near miss. Keys are never logged: errors
name the line of the setting, never its content.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from eventyard.errors import IngestAuthError as AuthError
from eventyard.errors import WriteKeySpecError as KeySpecError

Kind = Literal["server", "browser"]


@dataclass(frozen=True, slots=True)
class WriteKey:
    index: int  # position in the setting: the rate limiter's and the logs' handle for it
    secret: bytes
    kind: Kind


def parse_keys(spec: str) -> tuple[WriteKey, ...]:
    """`KEY` or `KEY:browser` entries, separated by commas or new lines; # starts a comment."""
    keys: list[WriteKey] = []
    entries = [e.strip() for line in spec.splitlines()
               for e in line.split("#", 1)[0].split(",")]
    for n, entry in enumerate(e for e in entries if e):
        secret, sep, kind = entry.partition(":")
        if sep and kind not in ("browser", "server"):
            raise KeySpecError(
                f"write key entry {n + 1}: the suffix after ':' must be 'browser' or 'server'"
            )
        if not secret or any(c.isspace() for c in secret):
            raise KeySpecError(f"write key entry {n + 1}: a key must be non-empty, no spaces")
        keys.append(WriteKey(n, secret.encode(), "browser" if kind == "browser" else "server"))
    return tuple(keys)


def _basic_user(header: str) -> str | None:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0]


class KeyRing:
    def __init__(self, keys: tuple[WriteKey, ...]) -> None:
        self.keys = keys

    def match(self, candidate: str) -> WriteKey | None:
        given = candidate.encode()
        found: WriteKey | None = None
        for key in self.keys:  # no early exit: every key is compared
            if hmac.compare_digest(given, key.secret) and found is None:
                found = key
        return found

    def authenticate(self, request: web.Request) -> WriteKey:
        in_url = False
        candidate = None
        auth = request.headers.get("Authorization")
        if auth:
            candidate = _basic_user(auth)
        if candidate is None:
            candidate = request.headers.get("X-Write-Key")
        if candidate is None and "writeKey" in request.query:
            candidate, in_url = request.query["writeKey"], True
        if not candidate:
            raise AuthError(
                "no write key: send it as Basic auth user name, X-Write-Key, or ?writeKey="
            )
        key = self.match(candidate)
        if key is None:
            raise AuthError("unknown write key")
        if key.kind == "server" and in_url:
            raise AuthError("a server key is not accepted in the URL; send it in a header")
        if key.kind == "server" and request.headers.get("Origin"):
            raise AuthError("a server key is not accepted from a web page; use a browser key")
        return key
