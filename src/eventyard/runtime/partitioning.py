"""Which partition a key lands on: the Java client's rule (murmur2 of the key, sign bit
cleared, modulo the partition count), which aiokafka's DefaultPartitioner also uses.

aiokafka's murmur2 is pure Python, ~4 µs for an eventId-sized key, and every record of one
event shares its key (the identity), so the hash is cached per key: users recur, and one
event's ~4 output records then pay for one hash, not four.
"""

from __future__ import annotations

import random
from functools import lru_cache

from aiokafka.partitioner import murmur2


@lru_cache(maxsize=65536)
def key_hash(key: bytes) -> int:
    return int(murmur2(key)) & 0x7FFFFFFF


def partition_for(key: bytes | None, partitions: int) -> int:
    """The partition a producer using the default partitioner picks among 0..partitions-1
    (a random one for a null key, as aiokafka does)."""
    if key is None:
        return random.randrange(partitions)
    return key_hash(key) % partitions
