"""The cached partitioner must pick exactly the partition aiokafka's (and the Java
client's) default partitioner picks: keys keep their partition whoever produced them."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from eventyard.kafka.partitioning import identity_partition, murmur2, partition_for


@given(key=st.binary(min_size=0, max_size=200), n=st.integers(min_value=1, max_value=64))
def test_same_partition_as_the_default_partitioner(key: bytes, n: int) -> None:
    parts = list(range(n))
    expected = DefaultPartitioner()(key, parts, parts)
    assert partition_for(key, n) == expected
    assert identity_partition(key, n) == expected


@given(key=st.binary(min_size=0, max_size=200))
def test_murmur2_equals_aiokafkas(key: bytes) -> None:
    assert murmur2(key) == aiokafka_murmur2(key) & 0xFFFFFFFF


def test_java_client_vectors() -> None:
    # Output of the Java client's default partitioner over 1000 partitions, as recorded in
    # kafka-python's test_murmur2_java_compatibility.
    expected = {b"": 681, b"a": 524, b"ab": 434, b"abc": 107, b"123456789": 566, b"\x00 ": 742}
    assert {key: partition_for(key, 1000) for key in expected} == expected


def test_null_key_gets_some_partition() -> None:
    assert {partition_for(None, 3) for _ in range(200)} == {0, 1, 2}
    assert {identity_partition(None, 3) for _ in range(200)} == {0, 1, 2}
