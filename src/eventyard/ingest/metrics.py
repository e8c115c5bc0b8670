"""The edge's metrics (`GET /metrics`), on a registry of their own.

Labels are bounded: endpoint is one of the routes below, status an HTTP status the edge
answers with, reason a code of the closed dead-letter list, type a Segment call type,
scope `ip` or `key`. Never a key, an IP or an event value.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

ENDPOINTS = ("events", "batch", "track", "page", "identify", "tracker", "other")
ACK_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "eventyard_ingest_requests", "HTTP requests answered, by endpoint and status.",
            ["endpoint", "status"], registry=r,
        )
        self.accepted = Counter(
            "eventyard_ingest_events_accepted",
            "Events written to the raw topic and acknowledged by the broker.",
            ["endpoint"], registry=r,
        )
        self.rejected = Counter(
            "eventyard_ingest_events_rejected",
            "Events refused by the edge's checks (each also written to the dead-letter "
            "topic), by reason code.",
            ["reason"], registry=r,
        )
        self.ignored = Counter(
            "eventyard_ingest_calls_ignored",
            "Segment calls answered but not routed (identify, screen, group, alias).",
            ["type"], registry=r,
        )
        self.bytes = Counter(
            "eventyard_ingest_request_bytes",
            "Request body bytes received, as sent (before gzip decoding).", registry=r,
        )
        self.ack_seconds = Histogram(
            "eventyard_ingest_ack_seconds",
            "Records handed to the producer to every one acknowledged (acks=all), per request.",
            buckets=ACK_BUCKETS, registry=r,
        )
        self.rate_limited = Counter(
            "eventyard_ingest_rate_limited",
            "Requests refused with 429, by the bucket that was empty.", ["scope"], registry=r,
        )
        self.unavailable = Counter(
            "eventyard_ingest_unavailable",
            "Requests answered 503 because the broker did not acknowledge in time.",
            registry=r,
        )
