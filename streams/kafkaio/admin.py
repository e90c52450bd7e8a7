"""Create the connector's topics from the registry, with their retention policies."""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from streams.events.topics import TOPICS, KeyKind, TopicSpec
from streams.kafkaio.security import PLAINTEXT, KafkaSecurity

log = logging.getLogger(__name__)

# Topics keyed per organisation carry little traffic; one partition keeps their order total.
_SINGLE_PARTITION_KEYS = {KeyKind.ORG}


def partitions_for(spec: TopicSpec, partitions: int) -> int:
    """The partition count of ``spec``'s topic when the setting is ``partitions``."""
    return 1 if spec.key in _SINGLE_PARTITION_KEYS else partitions


async def partition_counts(
    bootstrap: str, names: list[str], *, security: KafkaSecurity = PLAINTEXT
) -> dict[str, int]:
    """The partition count of each topic of ``names`` (0: it does not exist), one client."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **security.client_options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        present = [name for name in names if name in existing]
        descriptions = await admin.describe_topics(present) if present else []
    finally:
        await admin.close()
    counts = dict.fromkeys(names, 0)
    counts.update({d["topic"]: len(d["partitions"]) for d in descriptions})
    return counts


async def ensure_topics(
    bootstrap: str,
    prefix: str,
    partitions: int,
    replication_factor: int = 1,
    *,
    security: KafkaSecurity = PLAINTEXT,
) -> list[str]:
    """Create every registry topic that is missing; return the names that were created.

    Raises the broker's error (a ``KafkaError``) when a topic cannot be created, for example
    with a replication factor the cluster cannot meet."""
    wanted = {
        spec.name(prefix): NewTopic(
            spec.name(prefix),
            num_partitions=partitions_for(spec, partitions),
            replication_factor=replication_factor,
            topic_configs=spec.config,
        )
        for spec in TOPICS
    }
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **security.client_options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [topic for name, topic in wanted.items() if name not in existing]
        created = await _create(admin, missing) if missing else []
        if created:
            log.info("created topics: %s", ", ".join(created))
        return created
    finally:
        await admin.close()


async def _create(admin: AIOKafkaAdminClient, topics: list[NewTopic]) -> list[str]:
    """Create ``topics``; the names created. The broker answers each topic with an error code
    (the client raises none): one another process created first is fine, any other fails."""
    response = await admin.create_topics(topics)
    created = []
    for name, code, *detail in response.topic_errors:
        if code == 0:
            created.append(name)
        elif code == TopicAlreadyExistsError.errno:
            log.info("topic %s was created by another process first", name)
        else:
            error = for_code(code)
            reason = detail[0] if detail and detail[0] else error.__name__
            raise error(f"creating topic {name} failed: {reason}")
    return created
