"""Create the connector's topics from the registry, with their retention policies."""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streams.events.topics import TOPICS, KeyKind

log = logging.getLogger(__name__)

# Topics keyed per organisation carry little traffic; one partition keeps their order total.
_SINGLE_PARTITION_KEYS = {KeyKind.ORG}


async def ensure_topics(
    bootstrap: str, prefix: str, partitions: int, replication_factor: int = 1
) -> list[str]:
    """Create every registry topic that is missing; return the names that were created."""
    wanted = {
        spec.name(prefix): NewTopic(
            spec.name(prefix),
            num_partitions=1 if spec.key in _SINGLE_PARTITION_KEYS else partitions,
            replication_factor=replication_factor,
            topic_configs=spec.config,
        )
        for spec in TOPICS
    }
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [topic for name, topic in wanted.items() if name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                log.info("another process created some topics first")
            log.info("created topics: %s", ", ".join(topic.name for topic in missing))
        return [topic.name for topic in missing]
    finally:
        await admin.close()
