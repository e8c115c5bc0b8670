"""Segment / RudderStack HTTP API calls → raw contract events (docs/ingest.md lists the
mapping field by field). Pure: no I/O.

Only `track` and `page` calls become events; the other call types (identify, screen, group,
alias) are answered as ignored with a sentence saying why, and counted. Fields the
contract does not know are left out rather than guessed: an unusable value would only
dead-letter the whole event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Segment's spec'd event names that have one canonical meaning here. Other names pass
# through unchanged (canonical names work as they are).
EVENT_NAMES: dict[str, str] = {
    "Signed Up": "SignUp",
    "Invite Sent": "InviteSent",
    "Trial Started": "StartTrial",
    "Checkout Started": "CheckoutStarted",
    "Payment Info Entered": "AddPaymentInfo",
    "Order Completed": "Purchase",
    "Order Refunded": "Refund",
}
IGNORED_TYPES = ("identify", "screen", "group", "alias")
_WHY = {
    "identify": "identify calls are not routed: put traits on track calls (context.traits)",
    "screen": "screen calls are not routed: send a track call",
    "group": "group calls are not routed: send companyDomain on track calls",
    "alias": "alias calls are not routed: identities are joined downstream",
}
_MOBILE = ("ios", "android", "react-native", "flutter", "swift", "kotlin")


@dataclass(frozen=True, slots=True)
class Ignored:
    type: str
    message: str


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _source(library: dict[str, Any]) -> str | None:
    name = library.get("name")
    if not isinstance(name, str):
        return None
    lowered = name.lower()
    if any(m in lowered for m in _MOBILE):
        return "mobile"
    if (lowered.endswith(".js") and "node" not in lowered) or "analytics-next" in lowered:
        return "browser"
    return "server"


def _value(props: dict[str, Any]) -> Any:
    for name in ("value", "revenue", "total"):
        v = props.get(name)
        if isinstance(v, int | float) and not isinstance(v, bool):
            return v
    return None


def _country(address: dict[str, Any]) -> Any:
    # The contract takes ISO 3166-1 alpha-2 only; Segment's is free text ("United States").
    country = address.get("country")
    return country if isinstance(country, str) and len(country) == 2 else None


def to_event(message: Any, batch_context: Any = None, call: str | None = None) -> Any:
    """One Segment call as a raw event (a JSON value to serialise), or `Ignored` saying why
    it is not routed. `call`: the type the endpoint implies (/v1/track, /v1/page); a batch
    item names its own. Anything but an object is returned as it is, for the contract's
    checks to reject with their reason."""
    if not isinstance(message, dict):
        return message
    kind = message.get("type", call) or "track"
    if kind in _WHY:
        return Ignored(kind, _WHY[kind])
    if kind not in ("track", "page"):
        return Ignored("unknown", f"call type {str(kind)[:32]!r} is not a Segment call type")
    context = {**_dict(batch_context), **_dict(message.get("context"))}
    traits = {**_dict(context.get("traits")), **_dict(message.get("traits"))}
    address = _dict(traits.get("address"))
    page = _dict(context.get("page"))
    props = dict(_dict(message.get("properties")))
    name: Any
    if kind == "page":
        name = "PageView"
        if message.get("name") is not None:
            props.setdefault("name", message.get("name"))
        page = {**page, **{k: props[k] for k in ("url", "referrer") if k in props}}
    else:
        raw_name = message.get("event")
        name = EVENT_NAMES.get(raw_name, raw_name) if isinstance(raw_name, str) else raw_name
    event: dict[str, Any] = {
        "event": name,
        "eventId": message.get("messageId"),
        "timestamp": message.get("timestamp") or message.get("originalTimestamp"),
        "source": _source(_dict(context.get("library"))),
        "userId": message.get("userId"),
        "anonymousId": message.get("anonymousId"),
        "email": traits.get("email"),
        "phone": traits.get("phone"),
        "firstName": traits.get("firstName") or traits.get("first_name"),
        "lastName": traits.get("lastName") or traits.get("last_name"),
        "city": address.get("city"),
        "state": address.get("state"),
        "zip": address.get("postalCode") or address.get("postal_code"),
        "country": _country(address),
        "pageUrl": page.get("url"),
        "referrer": page.get("referrer") or None,
        "ip": context.get("ip"),
        "userAgent": context.get("userAgent"),
        "value": _value(props),
        "currency": props.get("currency") if _value(props) is not None else None,
        "properties": props or None,
    }
    return {k: v for k, v in event.items() if v is not None}
