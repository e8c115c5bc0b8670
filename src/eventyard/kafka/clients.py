"""Kafka client factory: every client the runtime builds gets its connection and security
settings here, so TLS/SASL is configured once and secrets are read in one place only.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.helpers import create_ssl_context

from eventyard.kafka import no_autocreate  # noqa: F401  (no client auto-creates a topic)
from eventyard.kafka.interfaces import GroupConsumer, PlainConsumer, Producer
from eventyard.settings import Settings

# Output records can be larger than the raw event (warehouse records add routedTo and
# receivedAt); leave ample room above the raw size limit.
MIN_REQUEST_BYTES = 4 * 1024 * 1024


def connection_kwargs(settings: Settings, client_id: str) -> dict[str, Any]:
    """Bootstrap, TLS and SASL options shared by producers, consumers and the admin client."""
    kw: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": client_id,
        "security_protocol": settings.security_protocol,
    }
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        kw["ssl_context"] = create_ssl_context(
            cafile=settings.ssl_cafile,
            certfile=settings.ssl_certfile,
            keyfile=settings.ssl_keyfile,
        )
    if settings.security_protocol.startswith("SASL"):
        # aiokafka uses the sasl_plain_* pair for SCRAM mechanisms too.
        kw["sasl_mechanism"] = settings.sasl_mechanism
        kw["sasl_plain_username"] = settings.sasl_username
        if settings.sasl_password is not None:
            kw["sasl_plain_password"] = settings.sasl_password.get_secret_value()
    return kw


def producer(settings: Settings, *, transactional_id: str | None = None) -> AIOKafkaProducer:
    request_bytes = max(MIN_REQUEST_BYTES, 4 * settings.max_event_bytes)
    compression = None if settings.producer_compression == "none" else settings.producer_compression
    return AIOKafkaProducer(
        **connection_kwargs(settings, f"{settings.group_id}-producer"),
        acks="all",
        linger_ms=settings.producer_linger_ms,
        max_batch_size=settings.producer_max_batch_bytes,
        max_request_size=request_bytes,
        compression_type=compression,
        transactional_id=transactional_id,
        enable_idempotence=transactional_id is not None,
    )


def group_consumer(settings: Settings, *, read_committed: bool = False) -> AIOKafkaConsumer:
    """The worker's one group member: manual commits, short session (broker.md §2)."""
    return AIOKafkaConsumer(
        **connection_kwargs(settings, f"{settings.group_id}-consumer"),
        group_id=settings.group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
        max_partition_fetch_bytes=max(1024 * 1024, 2 * settings.max_event_bytes),
        isolation_level="read_committed" if read_committed else "read_uncommitted",
        # The long-poll bounds latency: Tansu holds a fetch for the full wait even when
        # records arrive meanwhile, and every event crosses two hops (500 ms default).
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        # Range gives every member the same numbers of raw and keyed (they have equal
        # counts), which is what lets most events take the direct path (worker/dispatch.py).
        # Range only: listing round robin too, for mixed-version groups, makes every
        # rebalance on Tansu take twice as long; docs/deploy.md says how to upgrade.
        partition_assignment_strategy=(RangePartitionAssignor,),
    )


def plain_consumer(
    settings: Settings, client_id: str, *, read_committed: bool = False,
    offsets_group: str | None = None,
) -> AIOKafkaConsumer:
    """A consumer for manual assignment (changelog restore, tools, tests); never a group
    member. `offsets_group`: the group its commits go to (dlq redrive records its progress
    in a group of its own, apart from the workers')."""
    return AIOKafkaConsumer(
        **connection_kwargs(settings, client_id),
        group_id=offsets_group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=max(1024 * 1024, 2 * settings.max_event_bytes),
        isolation_level="read_committed" if read_committed else "read_uncommitted",
        # Restore waits for a fetch response of every partition, empty ones included: a
        # short long-poll keeps that from adding half a second to every assignment.
        fetch_max_wait_ms=50,
    )


def admin(settings: Settings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(**connection_kwargs(settings, f"{settings.group_id}-admin"))


class KafkaClients:
    """The worker's `Clients` (kafka/interfaces.py): aiokafka, configured from settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def producer(self, *, transactional_id: str | None = None) -> Producer:
        client: Producer = producer(self.settings, transactional_id=transactional_id)
        return client

    def group_consumer(self, *, read_committed: bool = False) -> GroupConsumer:
        client: GroupConsumer = group_consumer(self.settings, read_committed=read_committed)
        return client

    def plain_consumer(self, client_id: str, *, read_committed: bool = False) -> PlainConsumer:
        client: PlainConsumer = plain_consumer(
            self.settings, client_id, read_committed=read_committed
        )
        return client
