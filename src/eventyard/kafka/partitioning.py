"""Which partition a key lands on: the Java client's rule (murmur2 of the key, sign bit
cleared, modulo the partition count), which aiokafka's DefaultPartitioner also uses.

The hash is computed for every raw record (the direct-path check) and every output key,
so it is on the hot path: aiokafka's murmur2 reads the input byte by byte in Python;
this one unpacks 32-bit words with `struct`, which is faster.
tests/unit/test_partitioning.py holds it equal to aiokafka's and to the Java client's
published outputs.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from functools import cache, lru_cache

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF
_SEED = 0x9747B28C


@cache
def _words(count: int) -> Callable[[bytes], tuple[int, ...]]:
    return struct.Struct(f"<{count}I").unpack_from


def murmur2(data: bytes) -> int:
    """MurmurHash2 as org.apache.kafka.common.utils.Utils.murmur2, as an unsigned int."""
    length = len(data)
    h = _SEED ^ length
    count = length >> 2
    for k in _words(count)(data):
        k = (k * _M) & _MASK
        k = ((k ^ (k >> 24)) * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length & 3
    if tail:
        base = count << 2
        if tail == 3:
            h ^= data[base + 2] << 16
        if tail >= 2:
            h ^= data[base + 1] << 8
        h = ((h ^ data[base]) * _M) & _MASK
    h = ((h ^ (h >> 13)) * _M) & _MASK
    return h ^ (h >> 15)


def partition_for(key: bytes | None, partitions: int) -> int:
    """The partition a producer using the default partitioner picks among 0..partitions-1
    (a random one for a null key, as aiokafka does)."""
    if key is None:
        return random.randrange(partitions)
    return (murmur2(key) & 0x7FFFFFFF) % partitions


@lru_cache(maxsize=65536)
def _identity_hash(key: bytes) -> int:
    return murmur2(key) & 0x7FFFFFFF


def identity_partition(key: bytes | None, partitions: int) -> int:
    """`partition_for` for keys that recur (output records are keyed by user identity):
    cached, where eventIds, unique by design, would only churn the cache."""
    if key is None:
        return random.randrange(partitions)
    return _identity_hash(key) % partitions
