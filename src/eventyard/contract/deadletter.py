"""A record that cannot be routed: the value the core returns, and its layout on the DLQ.

A dead letter is published to the DLQ topic with the record's original bytes as value and
its original key, and headers `eventyard-reason` (a code from contract.reasons),
`eventyard-detail` (names the field and the rule, never the offending value), and the
raw record's topic, partition, offset and timestamp (contract/headers.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from eventyard.contract.headers import (
    H_DETAIL,
    H_REASON,
    H_SOURCE_OFFSET,
    H_SOURCE_PARTITION,
    H_SOURCE_TIMESTAMP,
    H_SOURCE_TOPIC,
    Headers,
)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """The record cannot be routed. `reason` is a code from contract.reasons; `detail`
    names the field and the rule and never contains the offending value."""

    reason: str
    detail: str


def source_headers(topic: str, partition: int, offset: int, timestamp_ms: int) -> Headers:
    """The raw record's coordinates, as every dead letter (and keyed record) carries them."""
    return [
        (H_SOURCE_TOPIC, topic.encode()),
        (H_SOURCE_PARTITION, str(partition).encode()),
        (H_SOURCE_OFFSET, str(offset).encode()),
        (H_SOURCE_TIMESTAMP, str(timestamp_ms).encode()),
    ]


def dead_letter_headers(dl: DeadLetter, source: Headers) -> Headers:
    """The headers of the DLQ record for `dl`: reason, detail, then the source coordinates."""
    return [(H_REASON, dl.reason.encode()), (H_DETAIL, dl.detail.encode()), *source]
