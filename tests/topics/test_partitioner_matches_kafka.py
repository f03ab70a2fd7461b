"""The events topic's partitioner puts every key where Kafka's default partitioner (Java client,
aiokafka's DefaultPartitioner) puts it, so the layout really is "partitioned by key"."""
from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as reference_murmur2
from hypothesis import given
from hypothesis import strategies as st

from shared.topics import murmur2, partition_for


@given(st.binary(max_size=300))
def test_murmur2_matches_aiokafka(data):
    assert murmur2(data) == reference_murmur2(data) & 0xFFFFFFFF


@given(st.binary(max_size=100), st.integers(min_value=1, max_value=1024))
def test_partition_matches_the_default_partitioner(key, partitions):
    every = list(range(partitions))
    assert partition_for(key, partitions) == DefaultPartitioner()(key, every, every)


def test_known_java_values():
    # org.apache.kafka.common.utils.Utils.murmur2, as signed Java ints, for these inputs.
    assert murmur2(b"21") == (-973932308) & 0xFFFFFFFF
    assert murmur2(b"foobar") == (-790332482) & 0xFFFFFFFF
    assert murmur2(b"a-little-bit-long-string") == (-985981536) & 0xFFFFFFFF
