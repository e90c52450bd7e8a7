"""Cycle commits are atomic on the real broker, and the compacted state reads back exactly."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.events.topics import TOPICS
from streams.kafkaio import Outgoing, ensure_topics, read_compacted
from streams.poller.publish import CyclePublisher

pytestmark = pytest.mark.kafka


async def test_ensure_topics_creates_the_registry_with_its_policies(kafka_bootstrap):
    prefix = f"t{uuid.uuid4().hex[:6]}."
    created = await ensure_topics(kafka_bootstrap, prefix, partitions=3)
    assert sorted(created) == sorted(spec.name(prefix) for spec in TOPICS)
    assert await ensure_topics(kafka_bootstrap, prefix, partitions=3) == []
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, f"{prefix}poller-state")]
        )
    finally:
        await admin.close()
    configs = {entry[0]: entry[1] for entry in described[0].resources[0][4]}
    assert configs["cleanup.policy"] == "compact"


async def test_failed_cycle_leaves_nothing_and_state_reads_latest_committed(
    kafka_bootstrap, new_topic
):
    events_topic = await new_topic("events")
    state_topic = await new_topic("state", config={"cleanup.policy": "compact"})
    tid = f"test-{uuid.uuid4().hex[:8]}"

    def state(key: str, value: bytes | None) -> Outgoing:
        return Outgoing(state_topic, key.encode(), value)

    async with CyclePublisher(kafka_bootstrap, tid) as publisher:
        await publisher.commit_cycle(
            [Outgoing(events_topic, b"o:u1", b"added-u1")],
            [
                state("o:c:member:u1", b"v1"),
                state("o:c:member:u2", b"v1"),
                state("x:c:member:u9", b"z"),
            ],
        )
        producer = publisher._producer
        send = producer.send
        sent: list[bytes] = []

        async def crash_on_second_send(topic, *, key, value, headers):
            if sent:
                raise RuntimeError("crash mid-cycle")
            delivered = await send(topic, key=key, value=value, headers=headers)
            await delivered  # on the broker, inside the open transaction: only an abort hides it
            sent.append(value)
            return delivered

        producer.send = crash_on_second_send
        try:
            with pytest.raises(RuntimeError, match="crash mid-cycle"):
                await publisher.commit_cycle(
                    [Outgoing(events_topic, b"o:u1", b"never")],
                    [state("o:c:member:u1", b"never")],
                )
        finally:
            del producer.send
        assert sent == [b"never"]
        await publisher.commit_cycle(
            [], [state("o:c:member:u2", None), state("o:c:member:u3", b"v2")]
        )

    latest = await read_compacted(
        kafka_bootstrap, state_topic, key_filter=lambda key: key.startswith(b"o:")
    )
    assert latest == {b"o:c:member:u1": b"v1", b"o:c:member:u3": b"v2"}
    events = await read_compacted(kafka_bootstrap, events_topic)
    assert events == {b"o:u1": b"added-u1"}


async def test_reading_a_missing_topic_gives_empty_state(kafka_bootstrap):
    assert await read_compacted(kafka_bootstrap, f"absent-{uuid.uuid4().hex}") == {}
