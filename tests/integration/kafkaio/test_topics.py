"""Topic creation errors from the broker reach the caller; nothing is reported as created."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.errors import InvalidReplicationFactorError

from streams.kafkaio import ensure_topics
from streams.kafkaio.reader import partition_numbers

pytestmark = pytest.mark.kafka


async def test_a_topic_the_cluster_cannot_create_is_an_error(kafka_bootstrap):
    prefix = f"rf{uuid.uuid4().hex[:6]}."
    with pytest.raises(InvalidReplicationFactorError, match=f"creating topic {prefix}"):
        await ensure_topics(kafka_bootstrap, prefix, partitions=2, replication_factor=3)
    assert await partition_numbers(kafka_bootstrap, f"{prefix}user-events") == []
