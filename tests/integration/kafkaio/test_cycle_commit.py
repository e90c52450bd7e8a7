"""Cycle commits are atomic on the real broker, and the compacted state reads back exactly."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.events.topics import TOPICS
from streams.kafkaio import Outgoing, ensure_topics, read_compacted
from streams.kafkaio.partitioner import key_partition
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
        send_batch = producer.send_batch
        sent: list[str] = []

        async def crash_on_second_batch(batch, topic, *, partition):
            if sent:
                raise RuntimeError("crash mid-cycle")
            delivered = await send_batch(batch, topic, partition=partition)
            await delivered  # on the broker, inside the open transaction: only an abort hides it
            sent.append(topic)
            return delivered

        producer.send_batch = crash_on_second_batch
        try:
            with pytest.raises(RuntimeError, match="crash mid-cycle"):
                await publisher.commit_cycle(
                    [Outgoing(events_topic, b"o:u1", b"never")],
                    [state("o:c:member:u1", b"never")],
                )
        finally:
            del producer.send_batch
        assert sent == [events_topic]
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


async def test_a_large_cycle_lands_on_the_default_partitions_in_the_order_sent(
    kafka_bootstrap, new_topic
):
    """Several full record batches per partition; every key where the default partitioner
    puts it, and each partition's messages in the order the cycle gave them."""
    topic = await new_topic("large", partitions=3)
    messages = [
        Outgoing(topic, f"o:user-{n % 40}".encode(), f"{n:06d}".encode() * 200,
                 [("ce_id", str(n).encode())])
        for n in range(1500)
    ]
    async with CyclePublisher(kafka_bootstrap, f"test-{uuid.uuid4().hex[:8]}") as publisher:
        await publisher.commit_cycle(iter(messages), iter(()))

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
        isolation_level="read_committed", enable_auto_commit=False,
    )
    await consumer.start()
    received: dict[int, list[tuple[bytes, bytes]]] = {0: [], 1: [], 2: []}
    try:
        while sum(map(len, received.values())) < len(messages):
            batch = await consumer.getmany(timeout_ms=5000)
            assert batch, "the committed cycle did not arrive"
            for tp, records in batch.items():
                received[tp.partition] += [(r.key, r.value) for r in records]
                assert all(dict(r.headers)["ce_id"] for r in records)
    finally:
        await consumer.stop()
    for partition, got in received.items():
        expected = [
            (m.key, m.value) for m in messages if key_partition(m.key, [0, 1, 2], []) == partition
        ]
        assert got == expected
    assert all(received.values())
