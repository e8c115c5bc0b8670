"""(validated event, compiled policy, now) -> encoded records + skip reasons. Pure.

Everything policy-shaped was resolved at compile time (policy/compile.py): which routes an
event sends in each consent/age state, their skip reasons and the warehouse routedTo. Per
event this module looks its state up, decides match keys, and splices the encoded parts of
each record: the route's head, the user and context blocks (each encoded once per event
and shared by the routes that take the same one) and the fields every record carries.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal

import orjson

from eventyard.contract.model import RawEvent
from eventyard.contract.normalise import FieldWarning
from eventyard.platforms import PLATFORMS
from eventyard.policy.compiled import CompiledPolicy, Final, Route, Weak
from eventyard.records import SCHEMA_ID, record_head, routed_to
from eventyard.routing import pii
from eventyard.routing.adsafety import ads_key, fbc_value, strip_url, url_click_ids
from eventyard.routing.outcome import DeadLetter, OutputRecord, Routed
from eventyard.routing.pii import CONTACT_PII, IDS, PII_INPUTS

__all__ = ["CONTACT_PII", "IDS", "PII_INPUTS", "identity_key", "rfc3339_ms", "route_event"]

ORGANISATION = ("country", "companyDomain")
# The context fields match keys may name (platforms/model.py), and per which of them an
# event carries (pageUrl, ip, userAgent present), that set.
_CARRIED_CONTEXT = ("pageUrl", "ip", "userAgent")
_CARRIED = {
    (page, ip, agent): frozenset(f for f, on in zip(_CARRIED_CONTEXT, (page, ip, agent),
                                                     strict=True) if on)
    for page in (False, True) for ip in (False, True) for agent in (False, True)
}

# OutputRecord and Routed are named tuples; tuple.__new__ with the fields in declaration
# order builds one without the keyword handling of their constructors.
_new = tuple.__new__



@lru_cache(maxsize=4096)
def _rfc3339_second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).isoformat()[:19]


_MILLIS = tuple(f".{milli:03d}Z" for milli in range(1000))
# For the encoded records: the same text, the closing quote of the JSON string included.
_MILLIS_B = tuple(f'{suffix}"'.encode() for suffix in _MILLIS)


@lru_cache(maxsize=4096)
def _rfc3339_second_b(second: int) -> bytes:
    return _rfc3339_second(second).encode()


def rfc3339_ms(ms: int) -> str:
    # Cached per second: a batch's events share a few seconds, so formatting a datetime
    # twice per event would be repeated work.
    second, milli = divmod(ms, 1000)
    return _rfc3339_second(second) + _MILLIS[milli]


def identity_key(event: RawEvent) -> bytes:
    """Record key: one user's events stay in order per destination."""
    return (event.userId or event.anonymousId or event.externalId or event.eventId).encode()


@lru_cache(maxsize=4096)
def _shared_parts(
    name: str, source: str | None, version: str, sent_as: str | None
) -> tuple[bytes, bytes]:
    """The encoded fields every record of an event carries, but for the per-event ones:
    `,"schema":..,"event":..,"eventId":` and `,"source":..,"policyVersion":..[,"sentAs":..]`
    (route_event splices the eventId and the two timestamps between them)."""
    lead = orjson.dumps({"schema": SCHEMA_ID, "event": name, "eventId": None})
    trail: dict[str, str | None] = {"source": source, "policyVersion": version}
    if sent_as is not None:
        trail["sentAs"] = sent_as
    return b"," + lead[1:-len(b"null}")], b"," + orjson.dumps(trail)[1:-1]


@lru_cache(maxsize=32768)
def _ads_blocks(
    platforms: tuple[str, ...], names: tuple[str, ...], values: tuple[str | None, ...]
) -> tuple[Mapping[str, bytes], Weak]:
    """For a set of ad platforms and one identity (`values` of the raw-event fields
    `names`, which include country): each platform's encoded hashed user block
    (`,"user":{...}`), and for the platforms that identity alone cannot be matched on
    (none of the platform's match-key groups among the hashed fields), the fields it
    holds, to check with what the event carries.

    Cached because one user emits many events in a session and normalising + hashing is
    the costliest step of routing (phone parsing alone is tens of µs). The key holds
    only the fields the platforms' rules read (CompiledPolicy.ads_inputs), so e.g. every
    anonymous visitor shares one entry. The cache lives in process memory only, like the
    event itself, and is bounded.
    """
    identity = {n: v for n, v in zip(names, values, strict=True) if v is not None}
    blocks = pii.hash_user_many(platforms, identity, country=identity.get("country"))
    # A new bytes object of its own size (the concatenation): orjson's output keeps its
    # ~4 KiB buffer, which would make a full 32k-entry cache hold hundreds of MiB.
    encoded = {p: b',"user":' + orjson.dumps(block) for p, block in blocks.items()}
    # The routes' match keys are their platform's (policy/compile.py).
    weak = tuple((p, frozenset(block)) for p, block in blocks.items()
                 if PLATFORMS[p].match_keys
                 and not any(set(group) <= block.keys() for group in PLATFORMS[p].match_keys))
    return MappingProxyType(encoded), weak


def _user_block(route: Route, event: RawEvent, fields: dict[str, str],
                policy: CompiledPolicy) -> bytes:
    """`,"user":{...}` of a CRM or warehouse record (ads blocks come from _ads_blocks)."""
    attrs = event.__dict__
    if route.pii == "raw":
        # ids, contact fields, country (`fields`' order), then the company
        if (domain := attrs["companyDomain"]) is not None:
            return b',"user":' + orjson.dumps({**fields, "companyDomain": domain})
        return b',"user":' + orjson.dumps(fields)
    ids = {k: fields[k] for k in IDS if k in fields}
    org = {k: v for k in ORGANISATION if (v := attrs[k]) is not None}
    if route.pii == "drop":
        return b',"user":' + orjson.dumps({**ids, **org})
    hashed = _hashed_contact(
        "hmac" if route.pii == "hmac" else "sha256", route.platform, policy.hmac_key,
        tuple(map(attrs.__getitem__, CONTACT_PII)), attrs["country"],
    )
    return b',"user":' + orjson.dumps({**ids, **hashed, **org})


@lru_cache(maxsize=32768)
def _hashed_contact(
    mode: Literal["sha256", "hmac"], platform: str, key: bytes | None,
    values: tuple[str | None, ...], country: str | None,
) -> Mapping[str, str]:
    """The contact fields (`values` of CONTACT_PII) hashed in a CRM/warehouse hashed
    mode under the platform's rules. Cached per person, as the ads blocks are: the ids
    beside them (an anonymousId per visitor) are not hashed, so not part of the key."""
    contact = {k: v for k, v in zip(CONTACT_PII, values, strict=True) if v is not None}
    return MappingProxyType(pii.hash_user_generic(
        contact, mode=mode, key=key, country=country, rules=PLATFORMS[platform].rules,
    ))


def _context(route: Route, attrs: Mapping[str, Any], given: Mapping[str, str]) -> bytes:
    """`,"context":{...}`: the context fields and click ids (`given`: the event's; for
    ads, with those in its URLs) the route's platform takes. Ads get URLs without query
    string, fragment or userinfo (adsafety.py)."""
    ctx: dict[str, Any] = {f: v for f in route.context if (v := attrs[f]) is not None}
    if route.klass == "ads":
        for f in ("pageUrl", "referrer"):
            if f in ctx:
                ctx[f] = strip_url(ctx[f], route.url_params)
    if given:
        clicks = {k: v for k, v in given.items() if k in route.click_ids}
        if clicks:
            ctx["clickIds"] = clicks
    return b',"context":' + orjson.dumps(ctx)


@lru_cache(maxsize=4096)
def _custom_routed_to(final: Final, event: str, destination: str) -> bytes:
    """routedTo of a custom event's warehouse record: its routes' native name is the
    event's own."""
    return routed_to(destination, ((r.destination, r.name or event) for r in final.sending),
                     final.skipped)


def route_event(
    event: RawEvent,
    event_time_ms: int,
    record_ts_ms: int,
    policy: CompiledPolicy,
    now_ms: int,
    warnings: tuple[FieldWarning, ...] = (),
    sent_as: str | None = None,
) -> Routed | DeadLetter:
    name = event.event
    plan = policy.plans.get(name)
    custom = plan is None
    if plan is None:
        plan = policy.custom_plan
        if plan is None:
            return DeadLetter(
                "taxonomy.unknown_event",
                "event: not a canonical event, and the policy rejects custom events",
            )
    # Consent and age were decided for every state at policy load: look this one up.
    age = bisect_left(plan.ages, now_ms - event_time_ms)
    consent = event.consent
    send = plan.plain[age] if consent is None else plan.sending[consent.ads, consent.crm, age]

    # The model's fields, read from its __dict__: one dict lookup, not a getattr, each.
    attrs = event.__dict__
    fields = {k: v for k in PII_INPUTS if (v := attrs[k]) is not None}
    given: Mapping[str, str] = event.clickIds or {}
    url_ids: tuple[tuple[str, str], ...] = ()
    if (url := attrs["pageUrl"]) is not None:
        url_ids = url_click_ids(url)
    if (url := attrs["referrer"]) is not None and (more := url_click_ids(url)):
        url_ids = url_ids + more
    final = send.none
    ads: Mapping[str, bytes] = {}
    if send.ads_platforms:
        names = policy.ads_inputs
        ads, weak = _ads_blocks(send.ads_platforms, names, tuple(map(attrs.__getitem__, names)))
        if weak and send.ads_routes:
            carried = _CARRIED[attrs["pageUrl"] is not None, attrs["ip"] is not None,
                               attrs["userAgent"] is not None]
            if given or url_ids:  # ads get the click ids in the URLs too
                carried = carried.union(given, [k for k, _ in url_ids])
            final = send.matched(weak, carried)

    # Every part of a record is encoded once and spliced: the fields all records of this
    # event share, each route's head (encoded at policy load), and the user and context
    # blocks, which routes of the same PII mode or context key share, so nothing is
    # encoded once per destination. orjson output of a non-empty dict is b"{...}", so
    # each splice is exact. The shared fields, in the record's key order: schema, event,
    # eventId, timestamp, receivedAt, source, policyVersion, sentAs, value, currency.
    lead, trail = _shared_parts(name, event.source, policy.version, sent_as)
    second, milli = divmod(event_time_ms, 1000)
    received, received_milli = divmod(record_ts_ms, 1000)
    stamped = (
        lead, orjson.dumps(event.eventId), b',"timestamp":"', _rfc3339_second_b(second),
        _MILLIS_B[milli], b',"receivedAt":"', _rfc3339_second_b(received),
        _MILLIS_B[received_milli], trail,
    )
    value = event.value
    if value is None:
        shared = shared_ads = b"".join(stamped) + b"}"
    else:
        spent = (b',"value":' + orjson.dumps(value) + b',"currency":'
                 + orjson.dumps(event.currency) + b"}")
        shared = b"".join(stamped) + spent
        # A negative value (a refund) stays on warehouse and CRM records, never on ads ones.
        shared_ads = b"".join(stamped) + b"}" if value < 0 else shared
    key = identity_key(event)
    hashed_key = b""
    # Click ids in the URLs go to ads records, under the producer's own (which win).
    ads_given = given
    if url_ids:
        found: dict[str, str] = {}
        for k, v in url_ids:
            if k not in found:
                found[k] = fbc_value(v, event_time_ms) if k == "fbc" else v
        ads_given = {**found, **given}
    clicks = bool(ads_given)
    users: dict[str, bytes] = {}
    contexts: dict[int, bytes] = {}
    props_all = b""
    records: list[OutputRecord] = []
    for route in final.sending:
        ctx_key = route.context_key if clicks else route.bare_context_key
        if (context := contexts.get(ctx_key)) is None:
            context = contexts[ctx_key] = _context(
                route, attrs, ads_given if route.klass == "ads" else given)
        head = route.head or record_head(route.destination, route.klass, name)
        props = b""
        if event.properties is not None and route.properties != "none":
            if route.properties == "all":
                props = props_all = props_all or (
                    b',"properties":' + orjson.dumps(event.properties))
            else:
                allowed = {k: v for k, v in event.properties.items() if k in route.properties}
                props = b',"properties":' + orjson.dumps(allowed)
        if route.klass == "ads":
            # Ads never carry raw PII: only hashes of the platform's normalised values.
            # Never the raw identity (often an email) as an ads key: a keyed hash of it,
            # the same for every event of the user, so they still share a partition.
            hashed_key = hashed_key or ads_key(policy.ads_key, key)
            records.append(_new(OutputRecord, (
                "ads", route.destination, hashed_key,
                b"".join((head, ads[route.platform], context, props, shared_ads)),
            )))
            continue
        if (user := users.get(route.pii)) is None:
            user = users[route.pii] = _user_block(route, event, fields, policy)
        parts: tuple[bytes, ...]
        if route.klass == "warehouse":
            extra = (
                _custom_routed_to(final, name, route.destination) if custom
                else final.routed_to[route.destination]
            )
            if warnings:
                extra += b',"warnings":' + orjson.dumps([w.as_json() for w in warnings])
            parts = (head, user, context, props, extra, shared)
        else:
            parts = (head, user, context, props, shared)
        records.append(_new(OutputRecord, (
            route.klass, route.destination, key, b"".join(parts))))
    return _new(Routed, (
        event.eventId, name, event_time_ms, policy.version, tuple(records), final.skipped,
        sent_as, warnings,
    ))
