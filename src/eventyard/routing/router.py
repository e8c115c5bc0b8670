"""(validated event, compiled policy, now) -> encoded records + skip reasons. Pure.

Everything policy-shaped was resolved at compile time (policy/compile.py); per event this
module only checks consent and age, builds one dict per destination and encodes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal

import orjson

from eventyard.contract.model import RawEvent
from eventyard.contract.normalise import FieldWarning
from eventyard.platforms import PLATFORMS
from eventyard.policy.compiled import CompiledPolicy, Route
from eventyard.records import SCHEMA_ID, record_head
from eventyard.routing import pii
from eventyard.routing.adsafety import ads_key, click_ids_in_url, strip_url
from eventyard.routing.outcome import DeadLetter, OutputRecord, Routed

IDS = ("userId", "anonymousId", "externalId")
CONTACT_PII = ("email", "phone", "firstName", "lastName", "city", "state", "zip")
PII_INPUTS = (*IDS, *CONTACT_PII, "country")
ORGANISATION = ("country", "companyDomain")


@lru_cache(maxsize=4096)
def _rfc3339_second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).isoformat()[:19]


def rfc3339_ms(ms: int) -> str:
    # Cached per second: a batch's events share a few seconds, so formatting a datetime
    # twice per event would be repeated work.
    second, milli = divmod(ms, 1000)
    return f"{_rfc3339_second(second)}.{milli:03d}Z"


def identity_key(event: RawEvent) -> bytes:
    """Record key: one user's events stay in order per destination."""
    return (event.userId or event.anonymousId or event.externalId or event.eventId).encode()


@lru_cache(maxsize=32768)
def _ads_blocks(
    platforms: tuple[str, ...], identity: tuple[tuple[str, str], ...], country: str | None
) -> Mapping[str, tuple[bytes, frozenset[str]]]:
    """Encoded hashed user blocks of one identity for a set of ad platforms, each with the
    fields it holds (what the platform's match keys are checked against).

    Cached because one user emits many events in a session and normalising + hashing is
    the costliest step of routing (phone parsing alone is tens of µs). The cache lives in
    process memory only, like the event itself, and is bounded.
    """
    blocks = pii.hash_user_many(platforms, dict(identity), country=country)
    # Copied: orjson leaves its ~4 KiB output buffer under each bytes object, which would
    # make a full 32k-entry cache hold hundreds of MiB.
    return MappingProxyType(
        {p: (bytes(memoryview(orjson.dumps(block))), frozenset(block))
         for p, block in blocks.items()}
    )


def _user_block(route: Route, event: RawEvent, fields: dict[str, str],
                policy: CompiledPolicy) -> dict[str, str]:
    """The user block of a CRM or warehouse record (ads blocks come from _ads_blocks)."""
    ids = {k: fields[k] for k in IDS if k in fields}
    attrs = event.__dict__
    org = {k: v for k in ORGANISATION if (v := attrs[k]) is not None}
    contact = {k: fields[k] for k in CONTACT_PII if k in fields}
    if route.pii == "raw":
        return {**ids, **contact, **org}
    if route.pii == "drop":
        return {**ids, **org}
    mode: Literal["sha256", "hmac"] = "hmac" if route.pii == "hmac" else "sha256"
    hashed = pii.hash_user_generic(
        contact, mode=mode, key=policy.hmac_key, country=event.country,
        rules=PLATFORMS[route.platform].rules,
    )
    return {**ids, **hashed, **org}


def _context(route: Route, event: RawEvent, event_time_ms: int) -> dict[str, Any]:
    """Context fields and click ids the route's platform takes. Ads get URLs without query
    string, fragment or userinfo, after the click ids in them are taken (adsafety.py)."""
    attrs = event.__dict__
    ctx: dict[str, Any] = {f: v for f in route.context if (v := attrs[f]) is not None}
    given = event.clickIds or {}
    if route.klass == "ads":
        found: dict[str, str] = {}
        for url in (event.pageUrl, event.referrer):
            if url:
                for k, v in click_ids_in_url(url, event_time_ms).items():
                    found.setdefault(k, v)
        if found:
            given = {**found, **given}  # the producer's own clickIds win
        for f in ("pageUrl", "referrer"):
            if f in ctx:
                ctx[f] = strip_url(ctx[f], route.url_params)
    if given:
        clicks = {k: v for k, v in given.items() if k in route.click_ids}
        if clicks:
            ctx["clickIds"] = clicks
    return ctx


def _unmatched(
    sending: list[Route], ads: Mapping[str, tuple[bytes, frozenset[str]]], event: RawEvent,
    skipped: dict[str, str],
) -> list[Route]:
    """`sending` without the ads routes whose record would hold none of the platform's match
    keys; those are skipped as no_match_keys. A route's context fields and click ids are its
    platform's, and match keys only name fields the platform is sent (platforms/model.py),
    so one set of what the event carries serves every route."""
    carried: set[str] | None = None
    kept: list[Route] = []
    for route in sending:
        if route.match_keys:
            if carried is None:
                carried = {f for f in ("pageUrl", "ip", "userAgent")
                           if getattr(event, f) is not None}
                carried.update(event.clickIds or ())
                for url in (event.pageUrl, event.referrer):  # ads get the click ids in them
                    if url:
                        carried.update(click_ids_in_url(url, 0))
            have = carried | ads[route.platform][1]
            if not any(group <= have for group in route.match_keys):
                skipped[route.destination] = "no_match_keys"
                continue
        kept.append(route)
    return kept


@lru_cache(maxsize=4096)
def _routed_to(
    event: str, destination: str, sent: tuple[tuple[str, str], ...],
    skipped: tuple[tuple[str, str], ...],
) -> bytes:
    """A warehouse record's encoded routedTo: where else the event went, and why not.
    Policy-shaped (a few combinations per event name), so encoded once per combination."""
    return b',"routedTo":' + orjson.dumps({
        **{d: {"status": "sent", "name": name or event} for d, name in sent if d != destination},
        **{d: {"status": "skipped", "reason": why} for d, why in skipped},
    })


def _skip_reason(route: Route, event: RawEvent, event_time_ms: int, now_ms: int) -> str | None:
    if route.consent_key is not None:
        given = getattr(event.consent, route.consent_key) if event.consent else None
        if given is False or (route.consent_required and given is not True):
            return "no_consent"
    if route.max_age_ms is not None and now_ms - event_time_ms > route.max_age_ms:
        return "too_old"
    return None


def route_event(
    event: RawEvent,
    event_time_ms: int,
    record_ts_ms: int,
    policy: CompiledPolicy,
    now_ms: int,
    warnings: tuple[FieldWarning, ...] = (),
    sent_as: str | None = None,
) -> Routed | DeadLetter:
    canonical = event.event in policy.routes
    if canonical:
        routes = policy.routes[event.event]
        skipped = dict(policy.skips[event.event])
    elif policy.custom_events == "reject":
        return DeadLetter(
            "taxonomy.unknown_event",
            "event: not a canonical event, and the policy rejects custom events",
        )
    else:
        routes = policy.custom_routes
        skipped = dict(policy.custom_skips)

    sending: list[Route] = []
    for route in routes:
        reason = _skip_reason(route, event, event_time_ms, now_ms)
        if reason is None:
            sending.append(route)
        else:
            skipped[route.destination] = reason

    # The model's fields, read from its __dict__: one dict lookup, not a getattr, each.
    attrs = event.__dict__
    fields = {k: v for k in PII_INPUTS if (v := attrs[k]) is not None}
    base: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "event": event.event,
        "eventId": event.eventId,
        "timestamp": rfc3339_ms(event_time_ms),
        "receivedAt": rfc3339_ms(record_ts_ms),
        "source": event.source,
        "policyVersion": policy.version,
    }
    if sent_as is not None:
        base["sentAs"] = sent_as
    if event.value is not None:
        base["value"] = event.value
        base["currency"] = event.currency
    key = identity_key(event)
    ads_platforms = tuple(sorted({r.platform for r in sending if r.klass == "ads"}))
    ads = (
        _ads_blocks(ads_platforms, tuple(fields.items()), event.country) if ads_platforms else {}
    )
    if ads:
        sending = _unmatched(sending, ads, event, skipped)
    # Every part of a record is encoded once and spliced: the fields all records of this
    # event share, each route's head (encoded at policy load), and the user and context
    # blocks, which routes of the same PII mode or platform share, so nothing is encoded
    # once per destination. orjson output of a non-empty dict is
    # b"{...}", so each splice is exact.
    shared = orjson.dumps(base)[1:]
    # A negative value (a refund) stays on warehouse and CRM records, never on ads ones.
    if event.value is not None and event.value < 0:
        shared_ads = orjson.dumps({k: v for k, v in base.items()
                                   if k not in ("value", "currency")})[1:]
    else:
        shared_ads = shared
    warned = (
        b',"warnings":' + orjson.dumps([w.as_json() for w in warnings]) if warnings else b""
    )
    props_all = (
        b',"properties":' + orjson.dumps(event.properties) if event.properties is not None else b""
    )
    users: dict[str, bytes] = {}
    # A route's context fields and click ids are its platform's (policy/compile.py), so
    # class, platform and the URL parameters a destination keeps name the context block.
    contexts: dict[tuple[str, str, tuple[str, ...]], bytes] = {}
    hashed_key = b""
    routed_to = b""
    records: list[OutputRecord] = []
    for route in sending:
        if route.klass == "ads":
            # Ads never carry raw PII: only hashes of the platform's normalised values.
            user = ads[route.platform][0]
        elif (user := users.get(route.pii, b"")) == b"":
            user = users[route.pii] = orjson.dumps(_user_block(route, event, fields, policy))
        block = (route.klass, route.platform, route.url_params)
        if (context := contexts.get(block, b"")) == b"":
            context = contexts[block] = orjson.dumps(_context(route, event, event_time_ms))
        head = route.head or record_head(route.destination, route.klass, event.event)
        if route.klass == "warehouse":
            routed_to = _routed_to(
                event.event, route.destination,
                tuple((r.destination, r.name) for r in sending), tuple(skipped.items()),
            )
        if event.properties is None or route.properties == "none":
            props = b""
        elif route.properties == "all":
            props = props_all
        else:
            allowed = {k: v for k, v in event.properties.items() if k in route.properties}
            props = b',"properties":' + orjson.dumps(allowed)
        value = b"".join((
            head, b',"user":', user, b',"context":', context, props,
            routed_to + warned if route.klass == "warehouse" else b"", b",",
            shared_ads if route.klass == "ads" else shared,
        ))
        if route.klass == "ads":
            # Never the raw identity (often an email) as an ads key: a keyed hash of it,
            # the same for every event of the user, so they still share a partition.
            hashed_key = hashed_key or ads_key(policy.ads_key, key)
            records.append(OutputRecord(route.klass, route.destination, hashed_key, value))
        else:
            records.append(OutputRecord(route.klass, route.destination, key, value))
    return Routed(
        event_id=event.eventId,
        event=event.event,
        event_time_ms=event_time_ms,
        policy_version=policy.version,
        records=tuple(records),
        skipped=skipped,
        warnings=warnings,
        sent_as=sent_as,
    )
