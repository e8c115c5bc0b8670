"""What the trace a duplicate leaves costs the worker (eventyard.duplicates, docs/ops.md §6).

    .venv/bin/python -m bench.duplicate_trace

Times `route_keyed` on a keyed record whose eventId was already routed, as the worker
runs it (count the duplicate, build its trace record), and the same with the trace
record switched off (count only). The difference is the CPU per duplicate; the broker
then stores one ~150-byte record more per duplicate, in the same batch.
"""

from __future__ import annotations

import timeit
from pathlib import Path

import orjson
from aiokafka.structs import ConsumerRecord

from eventyard.kafka.partitioning import partition_for
from eventyard.policy import load_policy
from eventyard.settings import Settings
from eventyard.worker import dispatch
from eventyard.worker.dedup import DedupStore, fingerprint

POLICY = Path(__file__).resolve().parents[1] / "config" / "routing.yaml"
EVENT_ID = b"evt-0b7d2c4e-5f1a-4c39-9e55-1d2b3c4d5e6f"
PER_RUN = 1000


def main() -> None:
    settings = Settings(bootstrap_servers="unused:9092")
    policy = load_policy(POLICY)
    partition = partition_for(EVENT_ID, settings.partitions)
    store = DedupStore(policy.dedup_window_ms)
    store.add(partition, fingerprint(EVENT_ID), 0)
    value = orjson.dumps({"event": "SignUp", "eventId": EVENT_ID.decode(), "userId": "u-1",
                          "email": "ada@example.com"})
    headers = [("eventyard-source-topic", b"eventyard.raw"),
               ("eventyard-source-partition", b"3"), ("eventyard-source-offset", b"123456"),
               ("eventyard-source-timestamp", b"1800000000000"),
               ("eventyard-source-key", b"u-1")]
    rec = ConsumerRecord(settings.topic_keyed, partition, 9, 0, 0, EVENT_ID, value, None, 0, 0,
                         headers)

    def run() -> None:
        batch = dispatch.Batch(now_ms=1)
        for _ in range(PER_RUN):
            dispatch.route_keyed(settings, rec, policy, store, batch)

    def best() -> float:
        return min(timeit.repeat(run, number=200, repeat=7)) / (200 * PER_RUN) * 1e6

    with_trace = best()
    original = dispatch._duplicate

    def count_only(settings: Settings, rec: dispatch.Record, partition: int,
                   event_key: bytes | None, batch: dispatch.Batch, raw: bool) -> None:
        batch.duplicates += 1

    dispatch._duplicate = count_only
    try:
        without = best()
    finally:
        dispatch._duplicate = original
    print(f"duplicate on the keyed hop: {with_trace:.2f} µs with its trace record, "
          f"{without:.2f} µs counting only: {with_trace - without:.2f} µs per duplicate")


if __name__ == "__main__":
    main()
