"""What keeps raw identifiers and PII off the ads topic beyond the hashed user block.

- **Record key.** Ads records are keyed by a keyed hash (HMAC-SHA256, 32 hex characters) of
  the identity instead of the raw userId/anonymousId/externalId, which is often an email
  or a phone number. The same identity always gives the same key, so one user's events
  still share a partition and stay in order.
- **URLs.** pageUrl and referrer reach ads platforms without query string, fragment or
  `user:password@`: query strings carry emails, tokens and names (`/signup?email=…`). Click
  ids in the query are extracted first (gclid, ttclid, … as themselves; fbclid as Meta's
  fbc), so the platforms keep their attribution. A destination may keep named query
  parameters (`url_params: [utm_source, "utm_*"]`, shell-style patterns).

Pure: stdlib only.
"""

from __future__ import annotations

import hmac
from fnmatch import fnmatchcase
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from eventyard.contract.model import CLICK_ID_KEYS

# Query parameters that are click ids under the contract's own name.
_URL_CLICK_IDS = frozenset(CLICK_ID_KEYS - {"fbc", "fbp"})


@lru_cache(maxsize=65536)
def ads_key(secret: bytes, identity: bytes) -> bytes:
    """Kafka key of an ads record: HMAC-SHA256(secret, identity), 32 hex characters."""
    return hmac.digest(secret, identity, "sha256").hex()[:32].encode()


def _wanted(name: str, keep: tuple[str, ...]) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in keep)


@lru_cache(maxsize=8192)
def strip_url(url: str, keep: tuple[str, ...] = ()) -> str:
    """`url` without userinfo, fragment and every query parameter not matched by `keep`."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    if not parts.query and not parts.fragment and netloc == parts.netloc:
        return url
    query = ""
    if keep and parts.query:
        kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                if _wanted(k, keep)]
        query = urlencode(kept)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


@lru_cache(maxsize=8192)
def url_click_ids(url: str) -> tuple[tuple[str, str], ...]:
    """(contract name, raw value) of each click id in `url`'s query string, first one of a
    name wins; fbclid is named fbc and left raw (its fbc value needs the event time)."""
    if "?" not in url:  # no "?" at all: no query string
        return ()
    query = urlsplit(url).query
    if not query:
        return ()
    found: dict[str, str] = {}
    for name, value in parse_qsl(query):
        if not value:
            continue
        if name in _URL_CLICK_IDS:
            found.setdefault(name, value)
        elif name == "fbclid":
            found.setdefault("fbc", value)
    return tuple(found.items())


def fbc_value(fbclid: str, event_time_ms: int) -> str:
    # Meta's documented fbc format: fb.{subdomain index}.{creation ms}.{fbclid}
    return f"fb.1.{event_time_ms}.{fbclid}"


def click_ids_in_url(url: str, event_time_ms: int) -> dict[str, str]:
    """Click ids carried as query parameters of `url` (fbclid becomes an fbc value)."""
    return {name: fbc_value(value, event_time_ms) if name == "fbc" else value
            for name, value in url_click_ids(url)}
