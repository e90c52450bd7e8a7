"""Read a topic's committed messages, by default from the beginning up to its current end.

The end is the high watermark, not the last stable offset: right after a transaction commits,
Kafka writes its markers asynchronously, and a reader that stopped at the last stable offset
could miss the newest committed cycle. Reading ``read_committed`` up to the high watermark waits
for those markers, and still never yields records of aborted transactions.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streams.kafkaio.security import PLAINTEXT, KafkaSecurity

READ_TIMEOUT_SECONDS = 120.0


async def partition_numbers(
    bootstrap: str, topic: str, *, security: KafkaSecurity = PLAINTEXT
) -> list[int]:
    """The partition numbers of ``topic``; empty when it does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **security.client_options())
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return []
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(partition["partition"] for partition in description["partitions"])


async def high_watermarks(
    bootstrap: str, partitions: list[TopicPartition], *, security: KafkaSecurity = PLAINTEXT
) -> dict[TopicPartition, int]:
    """The offset after the last written record of each partition, committed or not."""
    probe = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        **security.client_options(),
    )
    await probe.start()
    try:
        return await probe.end_offsets(partitions)
    finally:
        await probe.stop()


async def topic_ends(
    bootstrap: str, topic: str, *, security: KafkaSecurity = PLAINTEXT
) -> dict[int, int]:
    """The high watermark of every partition of ``topic`` (empty when it does not exist)."""
    numbers = await partition_numbers(bootstrap, topic, security=security)
    partitions = [TopicPartition(topic, n) for n in numbers]
    if not partitions:
        return {}
    ends = await high_watermarks(bootstrap, partitions, security=security)
    return {tp.partition: end for tp, end in ends.items()}


async def committed_messages(
    bootstrap: str,
    topic: str,
    *,
    since: Mapping[int, int] | None = None,
    until: Mapping[int, int] | None = None,
    timeout: float = READ_TIMEOUT_SECONDS,
    security: KafkaSecurity = PLAINTEXT,
) -> AsyncIterator[ConsumerRecord]:
    """The committed messages of ``topic`` from ``since`` up to ``until`` (offsets by partition).

    By default every partition from its beginning up to the end seen at the start
    (``topic_ends``); a partition missing from ``since`` is read from its beginning, one
    missing from ``until`` is not read. Raises ``TimeoutError`` when an open transaction of
    another producer keeps the end out of reach for ``timeout`` seconds.
    """
    ends = await topic_ends(bootstrap, topic, security=security) if until is None else dict(until)
    starts = dict(since or {})
    pending = {
        TopicPartition(topic, partition)
        for partition, end in ends.items()
        if end > starts.get(partition, 0)
    }
    if not pending:
        return
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        **security.client_options(),
    )
    await consumer.start()
    try:
        consumer.assign(list(pending))
        for tp in pending:
            consumer.seek(tp, starts.get(tp.partition, 0))
        deadline = asyncio.get_running_loop().time() + timeout
        while pending:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(
                    f"reading {topic} did not reach its end within {timeout:.0f}s "
                    "(an open transaction of another producer?)"
                )
            batches = await consumer.getmany(*pending, timeout_ms=300, max_records=10_000)
            for records in batches.values():
                for record in records:
                    if record.offset < ends[record.partition]:
                        yield record
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp.partition]:
                    pending.discard(tp)
    finally:
        await consumer.stop()


async def read_compacted(
    bootstrap: str,
    topic: str,
    *,
    key_filter: Callable[[bytes], bool] = lambda _: True,
    timeout: float = READ_TIMEOUT_SECONDS,
    security: KafkaSecurity = PLAINTEXT,
) -> dict[bytes, bytes]:
    """Latest committed value per key (tombstones delete) whose key passes the filter."""
    latest: dict[bytes, bytes] = {}
    async for record in committed_messages(bootstrap, topic, timeout=timeout, security=security):
        if record.key is None or not key_filter(record.key):
            continue
        if record.value is None:
            latest.pop(record.key, None)
        else:
            latest[record.key] = record.value
    return latest
