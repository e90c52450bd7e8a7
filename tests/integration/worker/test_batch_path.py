"""The batch path in-process: an app from ``create_app`` on the session broker, a
``batch_agent`` on a test topic, and what its ``BatchReader`` does around Faust's group.

- offsets without a message (transaction markers, an aborted record) become gaps, so the
  group's commit passes them;
- a batch fetched while a rebalance begins is dropped and read again after it, once;
- a handler that raises stops the worker (SIGTERM to itself) without acknowledging its batch,
  and the restarted app reads that batch again.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from faust.types import Message

from streams.app import App, create_app
from streams.config import Settings
from streams.errors import BatchHandlerFailed
from streams.localkafka import free_port
from streams.worker import intake
from streams.worker.agents.batching import batch_agent
from tests.fixtures.kafka import NewTopicFactory
from tests.fixtures.waiting import eventually

BOOM = b"boom"
STOP_SECONDS = 30


class Recorder:
    """A batch handler that keeps the values it was given, in order; raises on ``BOOM`` once
    ``fail`` is set."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.values: list[bytes] = []
        self.batches = 0

    async def __call__(self, batch: Sequence[Message]) -> None:
        self.batches += 1
        for message in batch:
            if self.fail and message.value == BOOM:
                raise RuntimeError("handler failed")
            self.values.append(message.value)


@asynccontextmanager
async def running_app(settings: Settings, topic: str, handler: Recorder) -> AsyncIterator[App]:
    """The worker app of ``settings`` with ``handler`` on ``topic``, started in this loop."""
    app = create_app(settings)
    batch_agent(app.context, app.topic(topic), handler)
    await app.start()
    try:
        yield app
    finally:
        # Bounded: a stop that waits forever for a message still alive fails the test.
        await asyncio.wait_for(app.stop(), timeout=STOP_SECONDS)


async def committed(bootstrap: str, group: str, tp: TopicPartition) -> int | None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return offsets[tp].offset if tp in offsets else None


async def produce(bootstrap: str, topic: str, *values: bytes, abort: bool = False) -> None:
    """``values`` in one transaction (its marker takes an offset), committed or aborted."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"{topic}-tx")
    await producer.start()
    try:
        await producer.begin_transaction()
        for value in values:
            await producer.send_and_wait(topic, value, key=b"k")
        await (producer.abort_transaction() if abort else producer.commit_transaction())
    finally:
        await producer.stop()


class Rebalance:
    """Makes the batch reader's consumer start a rebalance of ``app`` at the first fetch that
    holds ``trigger`` (a new subscription, to ``other``, as when an agent subscribes to a new
    topic) and return that fetch only once the rebalance has begun; keeps every value fetched.
    """

    def __init__(self, other: str, trigger: bytes) -> None:
        self.other = other
        self.trigger = trigger
        self.app: App | None = None
        self.fetched: list[bytes] = []

    async def fetched_some(self, records: dict[TopicPartition, list]) -> None:  # type: ignore[type-arg]
        values = [record.value for batch in records.values() for record in batch]
        self.fetched.extend(values)
        app = self.app
        if app is None or self.trigger not in values or self.fetched.count(self.trigger) > 1:
            return
        generation = app.consumer_generation_id
        app.topics.add(app.topic(self.other))
        await app.consumer.subscribe({name for topic in app.topics for name in topic.topics})
        await eventually(
            lambda: asyncio.sleep(0, app.rebalancing or app.consumer_generation_id != generation),
            timeout=15, interval=0.01,
        )

    def consumer_class(self) -> type[intake.AIOKafkaConsumer]:
        rebalance = self

        class RebalancingConsumer(intake.AIOKafkaConsumer):
            async def getmany(self, *partitions, **options):  # type: ignore[no-untyped-def]
                records = await super().getmany(*partitions, **options)
                await rebalance.fetched_some(records)
                return records

        return RebalancingConsumer


# Faust's consumer thread leaves aiokafka connections unclosed when its app stops; they are
# collected here (see the end), not in whichever test runs next.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_gaps_rebalance_and_a_failing_handler(
    kafka_bootstrap: str, new_topic: NewTopicFactory, tmp_path: Path, monkeypatch, caplog
):
    topic, other = await new_topic("batch-path"), await new_topic("batch-path-other")
    tp = TopicPartition(topic, 0)
    settings = Settings.load({
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "TOPIC_PREFIX": f"{topic}.",
        "TOPIC_PARTITIONS": "1", "WORKER_APP_ID": f"{topic}-app",
        "CLAUDE_CONNECTOR_CACHE": str(tmp_path), "WEB_PORT": str(free_port()),
    })
    group = settings.worker_app_id
    await produce(kafka_bootstrap, topic, b"a", b"b")  # 0, 1, marker 2
    await produce(kafka_bootstrap, topic, b"aborted", abort=True)  # 3, marker 4
    await produce(kafka_bootstrap, topic, b"c")  # 5, marker 6
    rebalance = Rebalance(other, trigger=b"d")
    monkeypatch.setattr(intake, "AIOKafkaConsumer", rebalance.consumer_class())
    terminated = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, terminated.set)
    try:
        handler = Recorder(fail=True)
        async with running_app(settings, topic, handler) as app:
            rebalance.app = app
            await eventually(lambda: asyncio.sleep(0, handler.values), timeout=15)
            assert handler.values == [b"a", b"b", b"c"], "the aborted record is not read"
            await app.consumer.commit()
            assert await committed(kafka_bootstrap, group, tp) == 6, "the commit passes the gap"

            await produce(kafka_bootstrap, topic, b"d", b"e")  # 7, 8, marker 9
            await eventually(lambda: asyncio.sleep(0, len(handler.values) == 5), timeout=15)
            assert rebalance.fetched.count(b"d") == 2, "dropped, then read again"
            assert handler.values == [b"a", b"b", b"c", b"d", b"e"], "and handled once"

            await produce(kafka_bootstrap, topic, BOOM, b"f")  # 10, 11, marker 12
            await asyncio.wait_for(terminated.wait(), timeout=15)
            assert isinstance(app.crash_reason, BatchHandlerFailed), "the worker exits with it"
            assert handler.values[-1] == b"e"
            logged = [record for record in caplog.records
                      if "a batch handler failed" in record.getMessage()]
            assert logged and "RuntimeError: handler failed" in logged[0].getMessage()
            assert all(record.exc_info is None for record in logged), (
                "logged as text: a record's traceback would keep the batch alive")
        # up to the failed batch (10), not past it (the marker at 9 may or may not be passed)
        assert await committed(kafka_bootstrap, group, tp) in (9, 10), "the failed batch is unacked"

        again = Recorder()
        async with running_app(settings, topic, again):
            await eventually(lambda: asyncio.sleep(0, again.values), timeout=15)
        assert again.values == [BOOM, b"f"], "read again from the committed offset"
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        await asyncio.sleep(1.0)  # the consumer threads' loops wind down
        gc.collect()
