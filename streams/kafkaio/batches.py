"""``PartitionBatches``: messages sent as one record batch per topic partition.

A first collection sends hundreds of thousands of small messages, and a worker catching up
writes about as many changelog entries: appended to a record batch of their own partition,
they skip the producer's per-message work (a future each, the metadata and partition
look-ups), which took about half of the poller's publishing time and a fifth of a worker's.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from streams.kafkaio.messages import Outgoing
from streams.kafkaio.partitioner import key_partition


class RecordBatch(Protocol):
    """What ``AIOKafkaProducer.create_batch`` returns, as used here."""

    def append(
        self,
        *,
        timestamp: float | None,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]],
    ) -> object | None: ...

    def close(self) -> None: ...

    def record_count(self) -> int: ...


class PartitionBatches:
    """Messages gathered into one record batch per topic partition, each sent when full.

    A message goes to its ``partition``, else to the one the default partitioner picks for
    its key. Order within a partition is the order added. A batch is closed when sent, so
    the producer's own sends to that partition never join it.
    """

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._partitions: dict[str, list[int]] = {}
        self._open: dict[tuple[str, int], RecordBatch] = {}
        self._sent: list[tuple[tuple[str, int], int, asyncio.Future[RecordMetadata]]] = []

    async def add(self, message: Outgoing) -> None:
        partition = message.partition
        if partition is None:
            partition = await self._key_partition(message)
        where = (message.topic, partition)
        batch = self._open.get(where)
        if batch is not None and self._append(batch, message):
            return
        if batch is not None:
            await self._send(where)
        batch = self._open[where] = self._producer.create_batch()
        if not self._append(batch, message):
            raise ValueError(
                f"a message of {len(message.value or b'')} bytes for {message.topic} is larger "
                "than a record batch"
            )

    async def flush(self) -> dict[tuple[str, int], int]:
        """Send the batches not full yet and wait until the broker has every batch; the
        offset of the last message sent to each ``(topic, partition)``."""
        for where in list(self._open):
            await self._send(where)
        newest: dict[tuple[str, int], int] = {}
        for where, count, future in self._sent:
            metadata = await future
            newest[where] = max(newest.get(where, -1), metadata.offset + count - 1)
        self._sent.clear()
        return newest

    async def _key_partition(self, message: Outgoing) -> int:
        partitions = self._partitions.get(message.topic)
        if partitions is None:
            partitions = sorted(await self._producer.partitions_for(message.topic))
            self._partitions[message.topic] = partitions
        return key_partition(message.key, partitions, partitions)

    @staticmethod
    def _append(batch: RecordBatch, message: Outgoing) -> bool:
        return batch.append(
            key=message.key, value=message.value, timestamp=None, headers=message.headers or []
        ) is not None

    async def _send(self, where: tuple[str, int]) -> None:
        topic, partition = where
        batch = self._open.pop(where)
        batch.close()
        sent = await self._producer.send_batch(batch, topic, partition=partition)
        self._sent.append((where, batch.record_count(), sent))
        # Encoding many messages is CPU work that does not wait: between batches the loop
        # runs whatever else is due (the poller's spend-limit pages keep their pace).
        await asyncio.sleep(0)
