"""Session-shaped B2B traffic for the demo: visitors walk a funnel, interleaved as in life.

`eventyard.local.traffic.generate` draws each event independently, which is right for a
benchmark but reads oddly in a demo (a `Purchase` from a visitor nobody saw sign up). Here
every visitor gets a journey up front — browse, maybe leave details, sign up, trial, use
the product, pay — and many journeys advance concurrently, so the stream looks like a real
site's: mostly anonymous page views, fewer leads, fewer trials, a few customers.

What makes it a useful router demo, each at a small rate:
- PII appears once a visitor identifies (lead form, sign-up), so ads records show hashes;
- every `Purchase` is sent twice, a browser copy keyed by eventId and a server copy keyed
  by userId (another partition), as checkout pages and billing backends both report it;
- browsers retry a beacon now and then (an identical copy);
- some visitors decline ad consent, some mobile sessions sync days late (too old for GA4);
- a few records are malformed in the ways producers really break them.

Pure and seeded: the caller passes the clock, so tests get the same bytes every time.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from eventyard.taxonomy import TAXONOMY

Kind = Literal["event", "duplicate", "malformed"]

SITE = "https://www.example-saas.com"
_DAY_MS = 86_400_000

_FIRST = ["Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Ken", "Frances", "Dennis",
          "Radia", "Katherine", "Edsger", "Sophie", "Tim", "Hedy", "Niklaus"]
_LAST = ["Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Thompson",
         "O'Brien", "Allen", "Perlman", "Johnson", "Dijkstra", "Wilson", "Lamarr", "Wirth"]
_COMPANIES = ["acme.io", "globex.com", "initech.dev", "umbrella.co", "hooli.com", "stark.ai",
              "wayne.enterprises", "cyberdyne.io", "soylent.co", "tyrell.tech"]
# (country, phone pattern, city): formats as people type them, not E.164.
_PLACES = [("US", "+1 (650) 555-{:04d}", "Palo Alto"), ("US", "(212) 555-{:04d}", "New York"),
           ("GB", "020 7946 {:04d}", "London"), ("DE", "+49 30 1234{:04d}", "Berlin"),
           ("FR", "+33 1 42 68 {:02d} {:02d}", "Paris"), ("NL", "+31 20 123 {:04d}", "Amsterdam")]
_REFERRERS = ["https://www.google.com/", "https://www.linkedin.com/",
              "https://news.ycombinator.com/", "https://www.reddit.com/r/sales/",
              "https://duckduckgo.com/"]
_UAS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
]
_PAGES = {
    "PageView": ["/", "/blog/kafka-routing", "/customers", "/about"],
    "AdLandingPageView": ["/lp/enrich-your-crm", "/lp/b2b-email-finder"],
    "ContentView": ["/blog/b2b-attribution", "/guides/lead-scoring", "/webinars/q4-pipeline"],
    "HighIntentPageView": ["/pricing", "/security", "/compare/clearbit"],
    "PricingInteraction": ["/pricing"], "DocsInteraction": ["/docs/quickstart"],
    "IntegrationViewed": ["/integrations/salesforce", "/integrations/hubspot"],
    "DemoIntent": ["/demo"], "DemoBooked": ["/demo/confirmed"], "LeadCaptured": ["/ebook"],
    "SignUp": ["/signup"], "CheckoutStarted": ["/checkout"], "AddPaymentInfo": ["/checkout"],
    "Purchase": ["/checkout/thank-you"],
}  # fmt: skip
_PLANS = {"team": 49.0, "business": 249.0, "enterprise": 1490.0}
_CURRENCIES = ("USD", "USD", "USD", "EUR", "GBP")
# Click ids by the ad that brought the visitor; the key set is the contract's.
_CLICKS = ["gclid", "fbc", "li_fat_id", "ttclid", "rdt_cid"]

_SERVER_EVENTS = {
    e for e, ev in TAXONOMY.items() if ev.stage in ("activation", "product_extensions")
}
_SERVER_EVENTS |= {"SubscriptionStarted", "PlanUpgrade", "SubscriptionRenew", "ExpansionRevenue",
                   "TopUpPurchased", "Refund", "Chargeback", "Churned", "Reactivated",
                   "EmailVerified", "WorkspaceCreated", "InviteSent", "TrialActivated",
                   "CreditsPurchased"}
_MONEY = {e for e, ev in TAXONOMY.items() if "value" in ev.requires}
_EXTENSIONS = [e for e, ev in TAXONOMY.items() if ev.stage == "product_extensions"]

# Funnel milestones the view reports, in order. A lead is a visitor who first left an
# email (a form or straight sign-up), so each figure is a subset of the one before.
MILESTONES = ("leads", "sign-ups", "trials", "customers")
_MILESTONE_OF = {"SignUp": "sign-ups", "StartTrial": "trials", "Purchase": "customers"}

MALFORMED = ("truncated_json", "not_utf8", "field_typo", "missing_currency", "bad_email",
             "future_timestamp", "near_miss_name", "bad_consent")


@dataclass(frozen=True, slots=True)
class Emitted:
    key: bytes | None
    value: bytes
    kind: Kind
    event: str | None  # canonical name; None when the record does not carry a usable one


@dataclass
class FunnelStats:
    """What the generator sent, so the demo can check the router against intent."""

    sent: int = 0
    events: int = 0  # distinct valid events (first copies)
    duplicates: Counter[str] = field(default_factory=Counter)  # server_copy, retry
    malformed: Counter[str] = field(default_factory=Counter)
    stages: Counter[str] = field(default_factory=Counter)
    visitors: int = 0
    milestones: Counter[str] = field(default_factory=Counter)

    def count(self, e: Emitted, detail: str = "") -> None:
        self.sent += 1
        if e.kind == "event":
            self.events += 1
            if e.event is not None:
                self.stages[TAXONOMY[e.event].stage] += 1
                if e.event in _MILESTONE_OF:
                    self.milestones[_MILESTONE_OF[e.event]] += 1
        elif e.kind == "duplicate":
            self.duplicates[detail] += 1
        else:
            self.malformed[detail] += 1


@dataclass
class _Visitor:
    n: int
    anon: str
    script: deque[str]
    place: tuple[str, str, str]
    first: str
    last: str
    company: str
    ip: str
    ua: str
    referrer: str
    clicks: dict[str, str] | None
    consent: dict[str, bool] | None
    lag_ms: int  # > 0 for a mobile session synced days late
    plan: str
    email: str | None = None  # set by LeadCaptured or SignUp
    user_id: str | None = None  # set by SignUp
    page: str = "/"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


def _journey(rng: random.Random) -> list[str]:
    """The events one visitor will send, in order. Probabilities give a B2B funnel shape:
    ~35% show interest, ~half of those sign up, most trial, ~40% of trials pay."""
    r = rng.random
    steps: list[str] = []
    for _ in range(1 + int(rng.expovariate(0.5))):
        steps.append(rng.choice(("PageView", "PageView", "ContentView")))
    if r() < 0.3:
        steps.append("ReturningVisitor")
    if r() < 0.25:
        steps.append("CompanyIdentified")
    if r() < 0.4:
        steps.append("HighIntentPageView")
    if r() >= 0.35:
        return steps
    steps += rng.sample(["PricingInteraction", "DocsInteraction", "IntegrationViewed",
                         "FeatureUsed", "ChatStarted", "DemoIntent"], k=rng.randint(1, 3))
    if r() < 0.6:
        steps.append("LeadCaptured")
        if r() < 0.35:
            steps += ["DemoBooked"] + (["MeetingHeld"] if r() < 0.7 else [])
    if r() >= 0.5:
        return steps
    steps += ["SignUp", "EmailVerified", "WorkspaceCreated"]
    if r() < 0.3:
        steps.append("SSOLogin")
    if r() < 0.4:
        steps.append("InviteSent")
    if r() >= 0.8:
        return steps
    steps += ["StartTrial"] + (["TrialActivated"] if r() < 0.7 else [])
    steps.append("FirstAction")
    # Uses of a key feature: a third of trials reach 3, the ProductQualifiedLead signal of
    # config/routing.yaml (derived from the journey so far, so the random stream is as before).
    steps += ["FeatureUsed"] * (1 + len(steps) % 3)
    steps += rng.sample(["ApiKeyCreated", "ApiCallSucceeded", "CsvUploaded", "EnrichmentStarted",
                         "EnrichmentCompleted", "CreditConsumed", "CreditConsumed"],
                        k=rng.randint(2, 5))
    steps += rng.sample(_EXTENSIONS, k=rng.randint(1, 4))
    if r() < 0.3:  # sales-assisted trials
        steps += ["SalesQualifiedLead", "OpportunityCreated", "PipelineQualified"]
    if r() >= 0.4:
        if r() < 0.2:
            steps.append("Churned")
        return steps
    steps += ["AddPaymentInfo", "CheckoutStarted", "Purchase", "SubscriptionStarted"]
    later = ["SubscriptionRenew", "PlanUpgrade", "ExpansionRevenue", "TopUpPurchased",
             "CreditsPurchased", "CreditsLow", "CreditsExhausted"]
    steps += rng.sample(later, k=rng.randint(0, 3))
    if r() < 0.08:
        steps.append(rng.choice(("Refund", "Chargeback")))
    if r() < 0.05:
        steps += ["Churned"] + (["Reactivated"] if r() < 0.5 else [])
    return steps


class Funnel:
    """An endless, seeded stream of raw records from `concurrency` interleaved journeys.

    `run_id` goes into every eventId and identity so two demo runs against one broker never
    dedupe against each other (the dedup state outlives a worker). `concurrency` is low
    enough that journeys finish inside a 5,000-event demo (a purchase is ~30 events in),
    so even a short run shows customers, purchases and their server copies.
    """

    def __init__(
        self,
        *,
        seed: int = 7,
        run_id: str = "demo",
        concurrency: int = 50,
        malformed_ratio: float = 0.02,
        retry_ratio: float = 0.01,
        no_consent_ratio: float = 0.06,
        late_ratio: float = 0.02,
    ) -> None:
        self.rng = random.Random(seed)
        self.run_id = run_id
        self.malformed_ratio = malformed_ratio
        self.retry_ratio = retry_ratio
        self.no_consent_ratio = no_consent_ratio
        self.late_ratio = late_ratio
        self.stats = FunnelStats()
        self._seq = 0
        self._visitors = 0
        self._active = [self._new_visitor() for _ in range(concurrency)]
        # (due at sequence number, record, why): copies sent a little after the original.
        self._later: deque[tuple[int, Emitted, str]] = deque()

    def take(self, n: int, now_ms: int) -> list[Emitted]:
        return [self.next(now_ms) for _ in range(n)]

    def next(self, now_ms: int) -> Emitted:
        self._seq += 1
        if self._later and self._later[0][0] <= self._seq:
            _, emitted, why = self._later.popleft()
            self.stats.count(emitted, why)
            return emitted
        if self.rng.random() < self.malformed_ratio:
            kind = self.rng.choice(MALFORMED)
            emitted = self._malformed(kind, now_ms)
            self.stats.count(emitted, kind)
            return emitted
        slot = self.rng.randrange(len(self._active))
        visitor = self._active[slot]
        name = visitor.script.popleft()
        if not visitor.script:
            self._active[slot] = self._new_visitor()
        ev = self._event(visitor, name, now_ms)
        emitted = Emitted(ev["eventId"].encode(), orjson.dumps(ev), "event", name)
        self.stats.count(emitted)
        if name == "Purchase":
            # The billing backend reports the same purchase: same eventId, server source,
            # keyed by user so it usually lands on another partition than the browser's copy.
            server = {k: v for k, v in ev.items()
                      if k not in ("anonymousId", "ip", "userAgent", "pageUrl", "referrer",
                                   "clickIds")}
            server["source"] = "server"
            server["timestamp"] = _iso(now_ms - visitor.lag_ms)
            copy = Emitted(str(visitor.user_id).encode(), orjson.dumps(server), "duplicate", name)
            self._later.append((self._seq + self.rng.randint(3, 40), copy, "server_copy"))
        elif ev["source"] != "server" and self.rng.random() < self.retry_ratio:
            self._later.append((self._seq + self.rng.randint(1, 10),
                                Emitted(emitted.key, emitted.value, "duplicate", name), "retry"))
        return emitted

    # --- building records -------------------------------------------------------------

    def _new_visitor(self) -> _Visitor:
        rng = self.rng
        self._visitors += 1
        self.stats.visitors += 1
        n = self._visitors
        clicks = None
        if rng.random() < 0.35:
            kind = rng.choice(_CLICKS)
            value = (f"fb.1.{1_700_000_000_000 + n}.{rng.getrandbits(40)}" if kind == "fbc"
                     else f"{self.run_id}{rng.getrandbits(64):x}")
            clicks = {kind: value}
        script = deque(_journey(rng))
        if clicks:
            script.appendleft("AdLandingPageView")
        return _Visitor(
            n=n,
            anon=f"anon-{self.run_id}-{rng.getrandbits(48):012x}",
            script=script,
            place=rng.choice(_PLACES),
            first=rng.choice(_FIRST),
            last=rng.choice(_LAST),
            company=rng.choice(_COMPANIES),
            ip=(f"2001:db8::{n % 65536:x}" if rng.random() < 0.15
                else f"{rng.choice(('198.51.100', '203.0.113'))}.{n % 254 + 1}"),
            ua=rng.choice(_UAS),
            referrer=rng.choice(_REFERRERS),
            clicks=clicks,
            consent={"ads": False, "crm": True} if rng.random() < self.no_consent_ratio else None,
            lag_ms=4 * _DAY_MS + rng.randrange(_DAY_MS) if rng.random() < self.late_ratio else 0,
            plan=rng.choice(list(_PLANS)),
        )

    def _event(self, v: _Visitor, name: str, now_ms: int) -> dict[str, Any]:
        rng = self.rng
        if v.email is None and name in ("LeadCaptured", "SignUp"):
            v.email = f"{v.first}.{v.last}{v.n}@{v.company}".replace("'", "").lower()
            self.stats.milestones["leads"] += 1
        if name == "SignUp":
            v.user_id = f"usr-{self.run_id}-{v.n}"
        event_ms = now_ms - v.lag_ms - rng.randrange(0, 1500)  # client batching delay
        # Backends report product and billing events, but only know signed-up users; a late
        # visitor is a mobile app that queued everything offline.
        source = "server" if name in _SERVER_EVENTS and v.user_id is not None else "browser"
        if v.lag_ms:
            source = "mobile"
        ev: dict[str, Any] = {
            "event": name,
            "eventId": f"{self.run_id}-{self._seq:08d}",
            # Browsers send epoch ms, backends RFC 3339: both are in the contract.
            "timestamp": _iso(event_ms) if source == "server" else event_ms,
            "source": source,
        }
        if source != "server":
            ev.update(anonymousId=v.anon, ip=v.ip, userAgent=v.ua)
        if source == "browser":
            v.page = rng.choice(_PAGES.get(name, [v.page]))
            ev["pageUrl"] = SITE + v.page
            if name in ("PageView", "AdLandingPageView"):
                ev["referrer"] = v.referrer
            if v.clicks:
                ev["clickIds"] = v.clicks
        if v.user_id is not None:
            ev["userId"] = v.user_id
        if v.email is not None:  # identified: the PII the router must hash or pass on
            country, phone, city = v.place
            ev.update(email=v.email, firstName=v.first, lastName=v.last, country=country,
                      city=city, companyDomain=v.company)
            if name in ("LeadCaptured", "DemoBooked", "SignUp", "Purchase"):
                ev["phone"] = phone.format(*divmod(v.n % 10000, 100)) if "{:02d}" in phone \
                    else phone.format(v.n % 10000)
        elif name == "CompanyIdentified":
            ev["companyDomain"] = v.company  # reverse-IP lookup, still anonymous
        if v.consent is not None:
            ev["consent"] = v.consent
        ev["properties"] = self._properties(v, name)
        if name in _MONEY:
            amount = _PLANS[v.plan] * (12 if rng.random() < 0.3 else 1)
            if name in ("TopUpPurchased", "CreditsPurchased", "ExpansionRevenue"):
                amount = float(rng.choice((50, 100, 250, 500)))
            ev["value"] = round(-amount if name in ("Refund", "Chargeback") else amount, 2)
            ev["currency"] = rng.choice(_CURRENCIES)
        return ev

    def _properties(self, v: _Visitor, name: str) -> dict[str, Any]:
        props: dict[str, Any] = {"plan": v.plan}
        if v.clicks:
            props["utm_source"] = next(iter(v.clicks)).replace("gclid", "google")
            props["utm_campaign"] = "q4-pipeline"
        if name.startswith(("Api", "Enrichment", "Credit", "Bulk", "Email", "Mobile", "Webhook")):
            props["count"] = self.rng.randint(1, 500)
        if name == "FeatureUsed":
            props["feature"] = self.rng.choice(("enrich", "export", "sequence", "api"))
        return props

    def _malformed(self, kind: str, now_ms: int) -> Emitted:
        """A broken record as producers really send them; each maps to one reason code."""
        rng = self.rng
        eid = f"{self.run_id}-bad-{self._seq:08d}"
        base: dict[str, Any] = {"event": "SignUp", "eventId": eid, "timestamp": now_ms,
                                "source": "browser", "anonymousId": f"anon-{self.run_id}-bad",
                                "email": "ada.lovelace@acme.io"}
        if kind == "truncated_json":
            data = orjson.dumps(base)
            return Emitted(None, data[: rng.randint(5, len(data) - 5)], "malformed", None)
        if kind == "not_utf8":
            return Emitted(None, b'{"event": "PageView", "pageUrl": "\xff\xfe"}', "malformed", None)
        if kind == "field_typo":
            base["user_id"] = base.pop("anonymousId")
        elif kind == "missing_currency":
            base.update(event="Purchase", value=249.0)
        elif kind == "bad_email":  # the only identity, so dropping it leaves none
            del base["anonymousId"]
            base["email"] = "ada.lovelace@acme"
        elif kind == "future_timestamp":  # a device clock hours ahead
            base["timestamp"] = now_ms + 2 * 3_600_000
        elif kind == "near_miss_name":
            base["event"] = rng.choice(("sign_up", "Signup", "purchase"))
        elif kind == "bad_consent":  # consent is never guessed
            base["consent"] = {"ads": "no"}
        return Emitted(eid.encode(), orjson.dumps(base), "malformed", None)
