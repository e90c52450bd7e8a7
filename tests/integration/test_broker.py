"""The session broker is a real Kafka, usable by every part of the stack we build on."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

pytestmark = pytest.mark.kafka


async def _consume_all(
    bootstrap: str,
    topic: str,
    *,
    isolation: str = "read_uncommitted",
    expected: int,
    timeout: float = 20.0,
) -> list[tuple[bytes | None, bytes]]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level=isolation,
        group_id=None,
    )
    await consumer.start()
    records: list[tuple[bytes | None, bytes]] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < expected and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                records.extend((message.key, message.value) for message in messages)
        # One more short read proves nothing beyond ``expected`` arrived.
        for messages in (await consumer.getmany(timeout_ms=500)).values():
            records.extend((message.key, message.value) for message in messages)
    finally:
        await consumer.stop()
    return records


async def test_produce_consume_round_trip(kafka_bootstrap, new_topic):
    topic = await new_topic("roundtrip")
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for number in range(50):
            await producer.send(topic, key=f"k{number}".encode(), value=f"v{number}".encode())
        await producer.flush()
    finally:
        await producer.stop()
    records = await _consume_all(kafka_bootstrap, topic, expected=50)
    assert records == [(f"k{n}".encode(), f"v{n}".encode()) for n in range(50)]


async def test_aborted_transaction_is_invisible_to_read_committed(kafka_bootstrap, new_topic):
    topic = await new_topic("txn")
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap,
        transactional_id=f"test-{uuid.uuid4().hex}",
    )
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send(topic, value=b"committed-1")
        await producer.begin_transaction()
        await producer.send(topic, value=b"aborted")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send(topic, value=b"committed-2")
    finally:
        await producer.stop()

    committed = await _consume_all(kafka_bootstrap, topic, isolation="read_committed", expected=2)
    assert [value for _, value in committed] == [b"committed-1", b"committed-2"]
    raw = await _consume_all(kafka_bootstrap, topic, isolation="read_uncommitted", expected=3)
    assert b"aborted" in [value for _, value in raw], "the aborted record must exist on the log"


async def _topic_exists(bootstrap: str, name: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return name in await admin.list_topics()
    finally:
        await admin.close()


async def _changelog_counts(
    bootstrap: str, topic: str, want: dict[str, int], timeout: float, alive: Callable[[], bool]
) -> dict[str, int]:
    """Latest value per key on a Faust changelog topic (JSON-encoded keys and values)."""
    import json

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    latest: dict[str, int] = {}
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        deadline = asyncio.get_running_loop().time() + timeout
        while latest != want and alive() and asyncio.get_running_loop().time() < deadline:
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                for message in messages:
                    latest[json.loads(message.key)] = json.loads(message.value)
    finally:
        await consumer.stop()
    return latest


async def test_faust_worker_agent_updates_a_changelog_backed_table(
    kafka_bootstrap, new_topic, tmp_path
):
    topic = await new_topic("words")
    app_id = f"counter-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "COUNTER_APP_ID": app_id,
        "COUNTER_TOPIC": topic,
    }
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "faust",
                "-A",
                "tests.integration.faust_counter_app",
                "--datadir",
                str(tmp_path / "faust"),
                "worker",
                "-l",
                "info",
                "--without-web",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[2],
        )
    try:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            for word in ["alpha", "beta", "alpha", "gamma", "alpha", "beta"]:
                await producer.send(topic, key=word.encode(), value=f'"{word}"'.encode())
            await producer.flush()
        finally:
            await producer.stop()
        want = {"alpha": 3, "beta": 2, "gamma": 1}
        changelog = f"{app_id}-counts-changelog"
        counts = await _changelog_counts(
            kafka_bootstrap, changelog, want, timeout=60, alive=lambda: worker.poll() is None
        )
        assert worker.poll() is None, log_path.read_text()[-3000:]
        assert await _topic_exists(kafka_bootstrap, changelog)
        assert counts == want, log_path.read_text()[-3000:]
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
