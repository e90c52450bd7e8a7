"""Batch intake: the high-volume input topics are read in batches beside Faust's stream layer.

Faust hands every message to its agents one by one: the fetch loop waits on a fresh set of
tasks per message, the conductor decodes it into an event and queues it, the stream iterates
it through processors, sensors and acks. On this project's two-core machines that costs about
200 µs per message before any of our work, a ceiling of ~5k events/s even for an agent that
does nothing. The per-member topics carry the volume (usage deltas above all), so the worker
reads them with a ``BatchReader`` each, while keeping everything else of Faust: the consumer
group and its co-partitioning assignor, changelog-backed tables and their recovery, offset
commits, the web views. Low-volume topics (directory, connector status, alerts) still go
through Faust agents.

How a ``BatchReader`` stays inside Faust's guarantees:

- its topic is subscribed through Faust like an agent's, so the group assigns its partitions
  together with the tables' (``faustseam.FetchFilteringConsumer`` only leaves those
  partitions unfetched);
- it reads with its own consumer (no group, ``read_committed``), assigned to exactly the
  partitions Faust assigned this worker and positioned at the group's committed offsets,
  each time a rebalance has finished (tables recovered, flow resumed);
- the handler gets the fetched aiokafka records; every batch is marked in flight
  (``track_message`` of its newest record per partition, as Faust's message) before it is
  handled and acknowledged after (its other offsets registered as gaps, then ``ack`` of the
  newest), so Faust commits the offsets (after flushing the changelog writes) and a
  rebalance waits for the batch in flight; offsets that hold no message (transaction
  markers, aborted records) are registered as gaps so commits pass them;
- a batch read while a rebalance began is dropped and read again after it, from the
  committed offsets; a handler that raises stops the worker (``stop_worker``) without
  acknowledging its batch, which is read again after the restart (at least once; the
  handlers are idempotent).
"""

from __future__ import annotations

import asyncio
import os
import signal
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from time import monotonic
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from faust.types import TP, AppT

from streams.errors import BatchHandlerFailed
from streams.kafkaio.messages import Incoming
from streams.worker.faustseam import (
    add_gap,
    client_auth,
    committed_offset,
    consumer_message,
    note_inbound,
    root_service,
)

Handler = Callable[[Sequence[Incoming]], Awaitable[None]]
Spans = dict[TP, tuple[int, ConsumerRecord]]
"""Per partition of a batch: its first offset and its newest record."""

MAX_BATCH = 10_000
FETCH_BYTES_PER_PARTITION = 1 << 20
FETCH_BYTES = 8 << 20
"""What a reader fetches ahead, per partition and per request: the records fetched ahead (as
Python objects, several times their size on the wire) were the largest part of a worker's
peak memory while it caught up on a backlog."""
IDLE_SECONDS = 1.0
REBALANCE_POLL_SECONDS = 0.05


class BatchReader:
    """Reads one topic's partitions of this worker in batches for ``handler``.

    ``ready`` is awaited before each batch is read (the worker's start-up barrier).
    """

    def __init__(
        self,
        topic: str,
        bootstrap_servers: str,
        handler: Handler,
        *,
        ready: Callable[[], Awaitable[None]] | None = None,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self.topic = topic
        self.bootstrap_servers = bootstrap_servers
        self.handler = handler
        self.ready = ready
        self.max_batch = max_batch
        self._next: dict[TP, int | None] = {}
        """Per partition: the offset after the last one read (None: not known yet)."""

    async def run(self, app: AppT) -> None:
        """Read and handle batches until cancelled (an app task: starts after recovery)."""
        reader = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=FETCH_BYTES_PER_PARTITION,
            fetch_max_bytes=FETCH_BYTES,
            **client_auth(app),
        )
        await reader.start()
        try:
            generation: int | None = None
            while True:
                await settled(app)
                if app.consumer_generation_id != generation:
                    generation = app.consumer_generation_id
                    await self._reposition(reader, app.consumer)
                if not self._next:
                    await asyncio.sleep(IDLE_SECONDS)  # none of this topic's partitions here
                    continue
                if self.ready is not None:
                    await self.ready()
                records = await reader.getmany(
                    timeout_ms=int(IDLE_SECONDS * 1000), max_records=self.max_batch
                )
                if app.rebalancing or app.consumer_generation_id != generation:
                    continue  # read again from the committed offsets once it is over
                batch, spans = await self._records(app.consumer, records)
                if app.rebalancing or app.consumer_generation_id != generation:
                    continue  # (checked again: registering gaps yields to the loop)
                if batch:
                    await self._handle(app, batch, spans, generation)
        except Exception as exc:
            stop_worker(app, exc)
        finally:
            await reader.stop()

    async def _reposition(self, reader: AIOKafkaConsumer, consumer: Any) -> None:
        """Assign the reader this worker's partitions of the topic, at the committed offsets."""
        tps = sorted(
            TopicPartition(tp.topic, tp.partition)
            for tp in consumer.assignment()
            if tp.topic == self.topic
        )
        reader.assign(tps)
        self._next = {}
        for tp in tps:
            committed = committed_offset(consumer, tp)
            if committed is None:
                await reader.seek_to_beginning(tp)
            else:
                reader.seek(tp, committed)
            self._next[tp] = committed

    async def _records(
        self, consumer: Any, records: Mapping[TopicPartition, list[ConsumerRecord]]
    ) -> tuple[list[ConsumerRecord], Spans]:
        """The records in one list, and each partition's first offset and newest record;
        offsets skipped between them become commit gaps."""
        batch: list[ConsumerRecord] = []
        spans: Spans = {}
        for tp, fetched in records.items():
            if not fetched:
                continue
            expected = self._next[tp]
            for record in fetched:
                if expected is not None and record.offset > expected:
                    await add_gap(consumer, tp, expected, record.offset - 1)
                expected = record.offset + 1
            self._next[tp] = expected
            batch.extend(fetched)
            spans[tp] = (fetched[0].offset, fetched[-1])
        return batch, spans

    async def _handle(
        self, app: AppT, batch: list[ConsumerRecord], spans: Spans, generation: int
    ) -> None:
        """Run the handler with the batch in flight, then acknowledge it: Faust's bookkeeping
        once per partition, not per message (per message, making Faust's messages, tracking
        and acknowledging them took about 5 % of a worker's CPU at 100,000 members). The
        newest record of each partition is tracked as Faust's message and, once handled, the
        offsets before it become commit gaps and it is acknowledged, so a commit passes the
        whole batch only after the handler."""
        consumer = app.consumer
        newest = {tp: consumer_message(tp, record, generation) for tp, (_, record) in spans.items()}
        for message in newest.values():
            consumer.track_message(message)
        await self.handler(batch)
        for tp, (first, record) in spans.items():
            await add_gap(consumer, tp, first, record.offset - 1)
            consumer.ack(newest[tp])
        note_inbound(app, spans, monotonic())


def stop_worker(app: AppT, reason: BaseException) -> None:
    """Log ``reason`` and shut the worker down cleanly; it then exits with ``reason``.

    The clean stop commits what was acknowledged and nothing else (a crashed Faust app would
    cancel that last commit); the restarted worker reads the failed batch again, with its
    tables rebuilt from the changelogs. The worker process (the root service) re-raises its
    ``crash_reason`` (``BatchHandlerFailed``) once it has stopped, so it exits with an error.
    """
    # The traceback is logged as text and the error kept is a new one without it: the
    # traceback's frames hold the failed batch's messages, and Faust's stop waits until every
    # tracked message is acked or gone (a log record with ``exc_info`` would keep them alive
    # wherever records are kept, as under pytest's log capture).
    trace = "".join(traceback.format_exception(reason))
    app.log.error("a batch handler failed; stopping the worker:\n%s", trace)
    root_service(app).crash_reason = BatchHandlerFailed(repr(reason))
    os.kill(os.getpid(), signal.SIGTERM)


async def settled(app: AppT) -> None:
    """Wait until no rebalance is in progress (flow resumed, tables recovered, seeks done)."""
    while True:
        await app.flow_control.acquire()
        if not app.rebalancing:
            return
        await asyncio.sleep(REBALANCE_POLL_SECONDS)
