"""Topic creation errors from the broker reach the caller; nothing is reported as created."""

from __future__ import annotations

import uuid

import click
import pytest
from aiokafka.errors import InvalidReplicationFactorError

from streams.cli.worker import prepare_topics
from streams.config import Settings
from streams.events.topics import CONNECTOR_STATUS, TOPICS, USER_EVENTS
from streams.kafkaio import ensure_topics
from streams.kafkaio.admin import partition_counts, partitions_for
from streams.kafkaio.reader import partition_numbers

pytestmark = pytest.mark.kafka


async def test_a_topic_the_cluster_cannot_create_is_an_error(kafka_bootstrap):
    prefix = f"rf{uuid.uuid4().hex[:6]}."
    with pytest.raises(InvalidReplicationFactorError, match=f"creating topic {prefix}"):
        await ensure_topics(kafka_bootstrap, prefix, partitions=2, replication_factor=3)
    assert await partition_numbers(kafka_bootstrap, f"{prefix}user-events") == []


async def test_the_worker_refuses_topics_with_other_partition_counts(kafka_bootstrap, tmp_path):
    """One rule for the partition counts (``partitions_for``), checked with one admin client."""
    prefix = f"pc{uuid.uuid4().hex[:6]}."
    settings = Settings.load({"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "TOPIC_PREFIX": prefix,
                              "TOPIC_PARTITIONS": "3", "CLAUDE_CONNECTOR_CACHE": str(tmp_path)})
    await prepare_topics(settings)  # creates them right
    names = [spec.name(prefix) for spec in TOPICS]
    counts = await partition_counts(kafka_bootstrap, [*names, f"{prefix}absent"])
    assert counts == {**{spec.name(prefix): partitions_for(spec, 3) for spec in TOPICS},
                      f"{prefix}absent": 0}
    assert counts[USER_EVENTS.name(prefix)] == 3 and counts[CONNECTOR_STATUS.name(prefix)] == 1
    fewer = Settings.load({"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "TOPIC_PREFIX": prefix,
                           "TOPIC_PARTITIONS": "2", "CLAUDE_CONNECTOR_CACHE": str(tmp_path)})
    with pytest.raises(click.ClickException, match=r"has 3 partitions but the worker needs 2"):
        await prepare_topics(fewer)
