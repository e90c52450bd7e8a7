"""Read a compacted topic to its current end: the latest committed value of every key."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

READ_TIMEOUT_SECONDS = 120.0


async def read_compacted(
    bootstrap: str,
    topic: str,
    *,
    key_filter: Callable[[bytes], bool] = lambda _: True,
    timeout: float = READ_TIMEOUT_SECONDS,
) -> dict[bytes, bytes]:
    """Latest value per key (tombstones delete) of committed messages whose key passes the filter.

    Reads with ``read_committed`` up to the end offsets taken at the start, so records of an
    aborted or still-open transaction (a poller that crashed mid-commit) are never seen.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    latest: dict[bytes, bytes] = {}
    try:
        assigned = [
            TopicPartition(topic, number) for number in await partition_numbers(bootstrap, topic)
        ]
        if not assigned:
            return latest
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        pending = {tp for tp in assigned if ends[tp] > 0}
        deadline = asyncio.get_running_loop().time() + timeout
        while pending:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"reading {topic} did not reach its end within {timeout:.0f}s")
            batches = await consumer.getmany(*pending, timeout_ms=500, max_records=10_000)
            for messages in batches.values():
                for message in messages:
                    if message.key is None or not key_filter(message.key):
                        continue
                    if message.value is None:
                        latest.pop(message.key, None)
                    else:
                        latest[message.key] = message.value
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return latest
    finally:
        await consumer.stop()


async def partition_numbers(bootstrap: str, topic: str) -> list[int]:
    """The partition numbers of ``topic``; empty when it does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return []
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(partition["partition"] for partition in description["partitions"])
