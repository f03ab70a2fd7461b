"""Consumer-group lag: how many records of a topic a group has not committed yet."""
from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from shared.config import Settings
from shared.kafka import compat


async def partitions_of(settings: Settings, topics: list[str]) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    found = []
    for topic in described:
        if topic.get("error_code"):
            raise RuntimeError(f"topic {topic.get('topic')!r} is not available (error {topic['error_code']})")
        found.extend(TopicPartition(topic["topic"], p["partition"]) for p in topic["partitions"])
    return found


async def committed_offsets(settings: Settings, group: str, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    """The group's committed offset per partition (0 where it has committed nothing)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group, partitions=tps)
    finally:
        await admin.close()
    return {tp: max(0, committed[tp].offset) if tp in committed else 0 for tp in tps}


async def group_position(settings: Settings, group: str, tps: list[TopicPartition]
                         ) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """The group's committed offsets, and the records between them and the log end, per partition."""
    ends = await compat.end_offsets(settings, tps)
    committed = await committed_offsets(settings, group, tps)
    return committed, {tp: max(0, ends[tp] - committed[tp]) for tp in tps}


async def group_lag(settings: Settings, group: str, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    """Records between the group's committed offset and the log end, per partition."""
    return (await group_position(settings, group, tps))[1]
