"""Create the topics a worker needs, explicitly and before anything subscribes.

Brokers with auto topic creation (Tansu always, many Kafka clusters too) would otherwise
create a mistyped or not-yet-created topic on first use with the broker's default partition
count; the dedup changelog must match the keyed topic partition for partition, so it and
its siblings are created here with `settings.partitions`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiokafka.admin import NewTopic

from eventyard.errors import ConfigError
from eventyard.kafka import clients as kafka
from eventyard.settings import Settings

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True, slots=True)
class TopicResult:
    topic: str
    created: bool


def topic_configs(settings: Settings, topic: str) -> dict[str, str]:
    # The changelog only needs the latest first-seen time per eventId. (Tansu never
    # compacts — broker.md §3 — so restore reads the full history; it filters by window.)
    if topic == settings.topic_dedup:
        return {"cleanup.policy": "compact"}
    if topic == settings.topic_duplicates:
        # Bounded both ways: the newest record per eventId, and nothing past the retention.
        return {"cleanup.policy": "compact,delete",
                "retention.ms": str(settings.duplicates_retention_ms)}
    # Signal state: the latest window per (rule, identity) and the position entry.
    if topic == settings.topic_signals_state:
        return {"cleanup.policy": "compact"}
    return {}


async def ensure_topics(settings: Settings) -> list[TopicResult]:
    """Create every missing topic of `settings.all_topics()`; verify keyed/dedup agree."""
    client = kafka.admin(settings)
    await client.start()
    try:
        new = [
            NewTopic(
                name=t,
                num_partitions=settings.partitions,
                replication_factor=settings.replication_factor,
                topic_configs=topic_configs(settings, t),
            )
            for t in settings.all_topics()
        ]
        response = await client.create_topics(new)
        results: list[TopicResult] = []
        # Errors come back per topic in the response, not as exceptions.
        for entry in response.topic_errors:
            topic, code = entry[0], entry[1]
            if code not in (0, TOPIC_ALREADY_EXISTS):
                message = entry[2] if len(entry) > 2 else ""
                raise ConfigError(f"cannot create topic {topic}: error {code} {message}")
            results.append(TopicResult(topic, created=code == 0))
        paired = [settings.topic_keyed, settings.topic_dedup, settings.topic_duplicates]
        signal_pair = [settings.topic_warehouse, settings.topic_signals_state]
        described = await client.describe_topics(paired + signal_pair)
        counts = {d["topic"]: len(d["partitions"]) for d in described}
        if len({counts.get(t) for t in paired}) != 1:
            raise ConfigError(
                f"{', '.join(paired)} must have the same partition count (dedup entries and "
                f"duplicate records are written to the keyed record's partition number), "
                f"found {counts}"
            )
        if len({counts.get(t) for t in signal_pair}) != 1:
            raise ConfigError(
                f"{', '.join(signal_pair)} must have the same partition count (signal state "
                f"of warehouse partition p is written to partition p), found {counts}"
            )
        order = {t: i for i, t in enumerate(settings.all_topics())}
        return sorted(results, key=lambda r: order.get(r.topic, len(order)))
    finally:
        await client.close()
