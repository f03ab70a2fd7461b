"""Creating the project's topics (idempotent: existing topics are left as they are)."""
from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.config import Settings

log = logging.getLogger(__name__)


def project_topics(settings: Settings) -> list[NewTopic]:
    common = {"replication_factor": settings.replication_factor}
    return [
        NewTopic(settings.events_topic, settings.partitions, **common),
        NewTopic(settings.facts_topic, settings.partitions, **common),
        NewTopic(settings.changes_topic, settings.partitions, **common),
        NewTopic(settings.dead_letter_topic, 1, **common),
    ]


async def ensure_topics(settings: Settings, topics: list[NewTopic] | None = None) -> list[str]:
    """Create missing topics; return the names that were created."""
    topics = topics if topics is not None else project_topics(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t.name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # created concurrently by another service: fine
            log.info("created topics %s", [t.name for t in missing])
        return [t.name for t in missing]
    finally:
        await admin.close()


async def partition_mismatches(settings: Settings) -> list[str]:
    """Existing partitioned project topics whose partition count differs from the settings',
    each as a sentence; [] when all agree or none exists yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        names = [settings.events_topic, settings.facts_topic]
        existing = set(await admin.list_topics()) & set(names)
        described = await admin.describe_topics(sorted(existing)) if existing else []
    finally:
        await admin.close()
    return [f"topic {topic['topic']} has {len(topic['partitions'])} partitions but the configuration says "
            f"{settings.partitions} (RICHNESS_PARTITIONS)"
            for topic in described if len(topic["partitions"]) != settings.partitions]
