"""No eventyard client ever asks the broker to create a topic.

A Kafka metadata request (v4+) carries `allow_auto_topic_creation`, and aiokafka sends
True in every one of them: a consumer subscribing to, or a restore assigning, a topic the
broker lost would recreate it with the broker's default partition count. That is how a
memory-only Tansu came back with `eventyard.dedup` at 4 partitions instead of 8, and every
later worker refused to start. aiokafka has no option for it, so the request's default is
switched to False here, once, for every client of the process (kafka/clients.py imports
this module). Topics are created only by `ensure_topics` (kafka/topics.py). Brokers that
answer metadata v0-v3 decide by their own setting: set `auto.create.topics.enable=false`
on Kafka (docs/ops.md).
"""

from __future__ import annotations

from typing import Any

from aiokafka.protocol.metadata import MetadataRequest

_original_init = MetadataRequest.__init__


def _init(self: Any, topics: list[str] | None = None,
          allow_auto_topic_creation: bool | None = None) -> None:
    _original_init(self, topics, bool(allow_auto_topic_creation))


def install() -> None:
    """Idempotent: every MetadataRequest built after this asks for no auto-creation."""
    MetadataRequest.__init__ = _init


install()
