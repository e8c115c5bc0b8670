"""The edge's shared state: keys, buckets, the producer's shipper, metrics. One per process;
processes share nothing, so the edge scales by running more of them behind a balancer."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from aiohttp import web
from aiokafka import AIOKafkaProducer

from eventyard.errors import IngestAuthError as AuthError
from eventyard.errors import IngestRefused as Refused
from eventyard.ingest.auth import KeyRing, WriteKey
from eventyard.ingest.metrics import IngestMetrics
from eventyard.ingest.ratelimit import TokenBuckets
from eventyard.ingest.settings import IngestSettings
from eventyard.ingest.shipper import Shipper
from eventyard.kafka.producer import Send
from eventyard.settings import Settings


@dataclass
class Edge:
    settings: Settings
    ingest: IngestSettings
    keys: KeyRing
    metrics: IngestMetrics = field(default_factory=IngestMetrics)
    producer: AIOKafkaProducer | None = None
    shipper: Shipper | None = None
    ip_buckets: TokenBuckets = field(init=False)
    key_buckets: TokenBuckets = field(init=False)
    started: float = field(default_factory=time.monotonic)
    failing: bool = False  # the latest request's records were not acknowledged in time

    def __post_init__(self) -> None:
        self.ip_buckets = TokenBuckets(self.ingest.ip_rate, self.ingest.ip_burst)
        self.key_buckets = TokenBuckets(self.ingest.key_rate, self.ingest.key_burst)

    def client_ip(self, request: web.Request) -> str:
        hops = self.ingest.trusted_proxies
        if hops:
            chain = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
            chain = [h for h in chain if h]
            if chain:
                return chain[max(0, len(chain) - hops)]
        return request.remote or "unknown"

    def _limit(self, buckets: TokenBuckets, ident: object, scope: str) -> None:
        wait = buckets.take(ident)
        if wait:
            self.metrics.rate_limited.labels(scope).inc()
            raise Refused(429, f"rate_limited.{scope}",
                          f"too many requests per {scope}; retry after {wait} s",
                          {"Retry-After": str(wait)})

    def admit_request(self, request: web.Request) -> WriteKey:
        """Authenticate and take tokens: the write key, or a 401/403/429 to answer."""
        try:
            key = self.keys.authenticate(request)
        except AuthError:
            # Failed attempts spend the IP's tokens: guessing keys is rate limited too.
            self._limit(self.ip_buckets, self.client_ip(request), "ip")
            raise
        origin = request.headers.get("Origin")
        allowed = self.ingest.origins
        if origin and "*" not in allowed and origin.rstrip("/") not in allowed:
            raise Refused(403, "cors.origin",
                          "this origin is not in EVENTYARD_INGEST_CORS_ORIGINS")
        if key.kind == "browser":
            # Backends are identified by their server key; pages share one browser key,
            # so their visitors are told apart by IP.
            self._limit(self.ip_buckets, self.client_ip(request), "ip")
        self._limit(self.key_buckets, key.index, "key")
        return key

    async def ship_and_wait(self, sends: list[Send]) -> float:
        """Ship and wait for acks; seconds it took. 503 when the broker does not answer."""
        assert self.shipper is not None
        started = time.perf_counter()
        try:
            await asyncio.wait_for(self.shipper.send(sends), self.ingest.ack_timeout_s)
        except Exception as exc:  # timeout, or a delivery the broker refused
            self.metrics.unavailable.inc()
            self.failing = True
            kind = "no acknowledgement in time" if isinstance(exc, TimeoutError) else (
                f"delivery failed ({type(exc).__name__})")
            raise Refused(503, "broker.unavailable",
                          f"the broker did not acknowledge: {kind}; none of these events is "
                          "accepted: retry with the same eventIds (repeats are dropped)",
                          {"Retry-After": str(self.ingest.retry_after_s)}) from None
        elapsed = time.perf_counter() - started
        self.failing = False
        self.metrics.ack_seconds.observe(elapsed)
        return elapsed
