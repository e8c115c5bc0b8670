"""Realistic B2B product-analytics traffic, for the demo, the bench and the tests.

A seeded funnel: anonymous visitors browse (awareness, interest), some leave their details,
sign up and trial (acquisition), use the product (activation, product extensions) and pay
(revenue). Purchases arrive twice, a browser and a server copy with one eventId, as they do
in production; a few percent of records are malformed in the ways producers really break.
Pure: no I/O, same seed -> same bytes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from eventyard.taxonomy import TAXONOMY

# Share of events per stage in a B2B funnel: browsing dominates, revenue is rare.
_STAGE_WEIGHTS = {
    "awareness": 0.36, "interest": 0.18, "acquisition": 0.10,
    "activation": 0.22, "revenue": 0.05, "product_extensions": 0.09,
}  # fmt: skip
_BY_STAGE: dict[str, list[str]] = {}
for _name, _ev in TAXONOMY.items():
    _BY_STAGE.setdefault(_ev.stage, []).append(_name)

_FIRST = ["Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Ken", "Frances", "Radia"]
_LAST = ["Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Thompson", "O'Brien"]
_COMPANIES = ["acme.io", "globex.com", "initech.dev", "umbrella.co", "hooli.com", "stark.ai"]
_COUNTRIES = [("US", "(650) 555-{:04d}"), ("GB", "020 7946 {:04d}"), ("DE", "030 1234{:04d}")]
_PAGES = ["/", "/pricing", "/blog/kafka-routing", "/docs/quickstart", "/security", "/demo"]
_UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"
_MONEY = {e for e, ev in TAXONOMY.items() if "value" in ev.requires}

BROKEN = (
    b'{"event": "SignUp", "eventId": ',  # truncated JSON
    b'["SignUp"]',  # not an object
    b'{"event": "SignUp", "eventid": "x-1", "userId": "u"}',  # typo'd field
    b'{"event": "Purchase", "eventId": "x-2", "userId": "u", "value": 49}',  # no currency
    b'{"event": "signup", "eventId": "x-3", "userId": "u"}',  # near-miss name
    b'{"event": "LeadCaptured", "eventId": "x-4", "email": "not-an-address"}',
    b"\xff\xfe not utf-8",
)


@dataclass(frozen=True, slots=True)
class RawRecord:
    key: bytes | None
    value: bytes
    event_id: str | None  # None for broken records
    duplicate: bool = False


def _person(rng: random.Random, n: int) -> dict[str, Any]:
    country, phone = rng.choice(_COUNTRIES)
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    company = rng.choice(_COMPANIES)
    return {
        "userId": f"u-{n}",
        "email": f"{first}.{last}{n}@{company}".replace("'", "").lower(),
        "phone": phone.format(n % 10000),
        "firstName": first,
        "lastName": last,
        "country": country,
        "companyDomain": company,
    }


def _event(rng: random.Random, seq: int, now_ms: int) -> dict[str, Any]:
    stage = rng.choices(list(_STAGE_WEIGHTS), weights=list(_STAGE_WEIGHTS.values()))[0]
    name = rng.choice(_BY_STAGE[stage])
    visitor = rng.randrange(50_000)
    ev: dict[str, Any] = {
        "event": name,
        "eventId": f"ev-{seq:09d}",
        "timestamp": now_ms - rng.randrange(0, 3_600_000),
        "source": rng.choice(("browser", "server")),
        "anonymousId": f"anon-{visitor}",
        "ip": f"203.0.113.{visitor % 250 + 1}",
        "userAgent": _UA,
        "pageUrl": "https://www.example-saas.com" + rng.choice(_PAGES),
        "properties": {
            "plan": rng.choice(("free", "team", "business")),
            "utm_source": rng.choice(("google", "linkedin", "newsletter", "direct")),
            "utm_campaign": f"q4-{rng.randrange(12)}",
            "feature": rng.choice(("enrich", "export", "sequence", "api")),
            "session": {"pages": rng.randrange(1, 20), "seconds": rng.randrange(5, 900)},
        },
    }
    if stage not in ("awareness",) or rng.random() < 0.2:
        # Identified users carry PII, the same on every event of theirs (their own
        # seeded draw): a person does not change name or address between events.
        ev.update(_person(random.Random(visitor), visitor))
    if rng.random() < 0.3:
        ev["clickIds"] = {"gclid": f"Cj0KCQ{visitor}", "fbc": f"fb.1.{now_ms}.{visitor}"}
    if rng.random() < 0.05:
        ev["consent"] = {"ads": False, "crm": True}
    if name in _MONEY:
        ev["value"] = round(rng.uniform(19, 4999), 2)
        ev["currency"] = rng.choice(("USD", "EUR", "GBP"))
    return ev


def generate(
    n: int,
    *,
    seed: int = 7,
    now_ms: int,
    invalid_ratio: float = 0.05,
    duplicate_ratio: float = 0.05,
) -> Iterator[RawRecord]:
    """`n` raw records: valid events, ~invalid_ratio broken ones, ~duplicate_ratio repeats
    of an earlier eventId (a server copy with another key, so it lands elsewhere)."""
    rng = random.Random(seed)
    recent: list[dict[str, Any]] = []
    for seq in range(n):
        roll = rng.random()
        if roll < invalid_ratio:
            yield RawRecord(None, rng.choice(BROKEN), None)
        elif roll < invalid_ratio + duplicate_ratio and recent:
            original = dict(rng.choice(recent))
            original["source"] = "server" if original.get("source") == "browser" else "browser"
            # Keyed by user, not eventId: the copy may land on another partition, which the
            # router must still catch.
            key = str(original.get("userId") or original["anonymousId"]).encode()
            yield RawRecord(key, orjson.dumps(original), original["eventId"], duplicate=True)
        else:
            ev = _event(rng, seq, now_ms)
            recent.append(ev)
            if len(recent) > 500:
                recent.pop(0)
            yield RawRecord(ev["eventId"].encode(), orjson.dumps(ev), ev["eventId"])
