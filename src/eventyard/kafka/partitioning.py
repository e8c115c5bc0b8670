"""Which partition a key lands on: the Java client's rule (murmur2 of the key, sign bit
cleared, modulo the partition count), which aiokafka's DefaultPartitioner also uses.

The hash is computed for every raw record (the direct-path check) and every output key,
so it is on the hot path: aiokafka's murmur2 reads the input byte by byte in Python (about
2.6 µs for a 36-byte id); the `murmurhash2` package computes the same MurmurHash2 in C
(0.2 µs). tests/unit/test_partitioning.py holds it equal to aiokafka's and to the Java
client's published outputs.
"""

from __future__ import annotations

import random
from functools import lru_cache

from murmurhash2 import murmurhash2 as _murmurhash2

# The seed of org.apache.kafka.common.utils.Utils.murmur2.
_SEED = 0x9747B28C


def murmur2(data: bytes) -> int:
    """MurmurHash2 as org.apache.kafka.common.utils.Utils.murmur2, as an unsigned int."""
    h: int = _murmurhash2(data, _SEED)
    return h


def partition_for(key: bytes | None, partitions: int) -> int:
    """The partition a producer using the default partitioner picks among 0..partitions-1
    (a random one for a null key, as aiokafka does)."""
    if key is None:
        return random.randrange(partitions)
    return (_murmurhash2(key, _SEED) & 0x7FFFFFFF) % partitions


@lru_cache(maxsize=65536)
def _identity_hash(key: bytes) -> int:
    h: int = _murmurhash2(key, _SEED) & 0x7FFFFFFF
    return h


def identity_partition(key: bytes | None, partitions: int) -> int:
    """`partition_for` for keys that recur (output records are keyed by user identity):
    cached, where eventIds, unique by design, would only churn the cache."""
    if key is None:
        return random.randrange(partitions)
    return _identity_hash(key) % partitions
