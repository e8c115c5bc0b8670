"""PII masking for what the ops tools print (tap, dlq show): on by default for raw events
(raw, keyed, dlq) and for CRM and warehouse records, which may carry `pii: raw` fields.

Masked: the contact fields the router treats as PII (routing/router.py CONTACT_PII), and
ip and userAgent. A value already hashed (64 hex characters: sha256 or hmac) is shown as
is. Ids (userId, anonymousId, externalId, eventId) stay visible: they are what ops search
by, and they are the record keys of every output topic. `properties` is free data the
contract does not inspect, so it is printed as sent. A dead letter that is not a JSON
object cannot be masked field by field and is hidden whole.
"""

from __future__ import annotations

import re
from typing import Any

from eventyard.ops.roles import PII_ROLES
from eventyard.ops.views import View
from eventyard.routing.router import CONTACT_PII

MASK = "•••"
PII_FIELDS = frozenset((*CONTACT_PII, "ip", "userAgent"))
_HASHED = re.compile(r"[0-9a-f]{64}")


def _mask_fields(block: Any) -> Any:
    if not isinstance(block, dict):
        return block
    return {k: MASK if k in PII_FIELDS and not (isinstance(v, str) and _HASHED.fullmatch(v))
            else v for k, v in block.items()}


def masked_doc(role: str, doc: dict[str, Any]) -> dict[str, Any]:
    if role in ("ads", "crm", "warehouse"):
        out = dict(doc)
        for block in ("user", "context"):
            if block in out:
                out[block] = _mask_fields(out[block])
        return out
    masked: dict[str, Any] = _mask_fields(doc)
    return masked


def shown_value(v: View, *, show_pii: bool) -> Any:
    """What to print as the record's value: the parsed object (masked unless `show_pii`),
    the text of a non-object value when it may be shown, or a placeholder."""
    value = v.rec.value
    if value is None:
        return None
    if v.doc is not None:
        return v.doc if show_pii or v.role not in PII_ROLES else masked_doc(v.role, v.doc)
    if show_pii or v.role not in PII_ROLES:
        return value.decode(errors="replace")
    return f"<{len(value)} bytes, not a JSON object: hidden (--show-pii prints them)>"


def shown_key(v: View, *, show_pii: bool) -> str | None:
    """The record key, unless it may be PII: on PII topics a key is shown when it is one
    of the record's ids (producers key by eventId or user id), hidden otherwise."""
    key = v.rec.key
    if key is None:
        return None
    text: str = key.decode(errors="replace")
    if show_pii or v.role not in PII_ROLES:
        return text
    ids: set[object] = {v.text(f) for f in ("eventId", "userId", "anonymousId", "externalId")}
    user = v.doc.get("user") if v.doc is not None else None
    if isinstance(user, dict):
        ids |= {user.get(f) for f in ("userId", "anonymousId", "externalId")}
    return text if text in ids else MASK
