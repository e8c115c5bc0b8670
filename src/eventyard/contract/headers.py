"""Record header names: part of the documented contract of the output and DLQ topics.

Output records (ads, crm, warehouse) carry `eventyard-destination`. Dead letters carry the
reason code, a detail that names the field and the rule (never the value), and the raw
record's coordinates. Records on the internal keyed topic carry the same coordinates and
the producer's original key, so a dead letter written after the keyed hop still points at
the raw record (contract/deadletter.py).
"""

from __future__ import annotations

from typing import TypeAlias

Headers: TypeAlias = list[tuple[str, bytes]]

H_DESTINATION = "eventyard-destination"
H_REASON = "eventyard-reason"
H_DETAIL = "eventyard-detail"
H_SOURCE_TOPIC = "eventyard-source-topic"
H_SOURCE_PARTITION = "eventyard-source-partition"
H_SOURCE_OFFSET = "eventyard-source-offset"
H_SOURCE_TIMESTAMP = "eventyard-source-timestamp"
H_SOURCE_KEY = "eventyard-source-key"
# Set by `eventyard dlq redrive` on the raw records it writes, and carried like the source
# coordinates (raw -> keyed -> DLQ), so a record that keeps failing is refused after a
# maximum number of redrives.
H_REDRIVE_COUNT = "eventyard-redrive-count"
SOURCE_HEADERS = (H_SOURCE_TOPIC, H_SOURCE_PARTITION, H_SOURCE_OFFSET, H_SOURCE_TIMESTAMP,
                  H_REDRIVE_COUNT)
