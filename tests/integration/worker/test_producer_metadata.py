"""The worker's producer keeps the metadata of every topic it sends to.

Workers starting together create their changelog topics at about the same moment. A worker's
producer that learnt a topic from a refresh of all topics (Faust's topic creation asks for
one) lost it at the next refresh once it tracked another topic (one that another worker had
created meanwhile): a message pending for the lost topic waited for its partition's leader
for the producer's whole request timeout, and so did the batch that sent it, its offsets
uncommitted. The record batches of changelog writes use the same client (``tracking``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from streams.app import create_app
from streams.config import Settings
from streams.kafkaio.batches import PartitionBatches
from streams.kafkaio.messages import Outgoing
from tests.fixtures.kafka import NewTopicFactory

pytestmark = pytest.mark.kafka


async def test_a_send_completes_when_another_topic_appears_meanwhile(
    kafka_bootstrap: str, new_topic: NewTopicFactory, tmp_path: Path
):
    known = await new_topic("producer-known", partitions=2)
    app = create_app(Settings.load({
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "TOPIC_PREFIX": f"{known}.",
        "CLAUDE_CONNECTOR_CACHE": str(tmp_path),
    }))
    producer = app.producer
    await producer.start()
    try:
        # The metadata of all topics, as after Faust created a topic; then another one appears.
        await producer._ensure_producer().client.force_metadata_update()
        appeared = await new_topic("producer-appeared")
        pending = await producer.send(known, b"k", b"v", 1, None, None)
        other = await producer.send(appeared, b"k", b"v", None, None, None)
        sent = await asyncio.wait_for(asyncio.gather(pending, other), 15)
        assert [(m.topic, m.partition) for m in sent] == [(known, 1), (appeared, 0)]

        # Record batches (the changelog writes) go through the tracking client too, on the
        # partitions given; flush tells each partition's newest offset.
        batches = PartitionBatches(producer.tracking(known))
        for n in range(3):
            await batches.add(Outgoing(known, b"k%d" % n, b"v", partition=0))
        await batches.add(Outgoing(known, b"k", None, partition=1))
        newest = await asyncio.wait_for(batches.flush(), 15)
        assert newest == {(known, 0): 2, (known, 1): 1}
    finally:
        await asyncio.wait_for(producer.stop(), 15)
