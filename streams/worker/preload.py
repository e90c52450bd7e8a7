"""A table's partitions read from their changelogs in bulk, before Faust's
recovery.

Faust's recovery passes every changelog message through its consumer, a queue and a loop that
recomputes the remaining offsets of every partition per message: a fresh worker of a
20,000-member org read its 194,372 changelog messages at about 4,000 a second (46 s), and
at 100,000 members took minutes. The worker's stores (``faustseam.HeldPartitions`` and
``faustseam.RocksStore``) call ``preload`` from their ``on_rebalance``, which Faust awaits
before its recovery reads the stores' persisted offsets: a plain aiokafka consumer reads each
partition from after its persisted offset (the start when there is none) to the end it had
when the read began, in batches of thousands, and hands each batch to the store's
``apply_changelog_batch``. The persisted offset that leaves behind tells Faust's recovery where to
go on; whatever a preload did not read (a broker outage, a rebalance) Faust's recovery reads.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from time import monotonic
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.types import TP

log = logging.getLogger(__name__)

BATCH_RECORDS = 10_000
FETCH_BYTES_PER_PARTITION = 4 << 20
FETCH_BYTES = 16 << 20
POLL_MS = 1_000
IDLE_POLLS = 5
"""Polls in a row without a record (a partition's leader gone, a broker down) that end a
preload: aiokafka retries those inside ``getmany`` instead of raising."""
TIME_LIMIT_SECONDS = 30.0
"""The longest one table's preload reads: Faust awaits it inside the group's rebalance, and
a member that does not rejoin a rebalance within ``broker_rebalance_timeout`` (60 s) is
dropped from the group."""


class ChangelogStore(Protocol):
    """What ``preload`` needs of a Faust store: its ``apply_changelog_batch`` also keeps the
    last offset applied per partition as its persisted offset (as Faust's RocksDB store
    does)."""

    def persisted_offset(self, tp: TP) -> int | None: ...

    def apply_changelog_batch(self, batch: Iterable[Any], to_key: Any, to_value: Any) -> None: ...


class ChangelogMessage:
    """A changelog record as ``apply_changelog_batch`` reads it: ``event.message.tp`` etc."""

    __slots__ = ("key", "offset", "tp", "value")

    def __init__(self, tp: TP, offset: int, key: bytes | None, value: bytes | None) -> None:
        self.tp, self.offset, self.key, self.value = tp, offset, key, value

    @property
    def partition(self) -> int:
        return self.tp.partition

    @property
    def message(self) -> ChangelogMessage:
        """The message itself stands for its event (``event.message``)."""
        return self


async def preload(
    store: ChangelogStore, tps: Iterable[TP], name: str, consumer_options: dict[str, Any]
) -> int:
    """Read each changelog partition of ``tps`` after ``store``'s persisted offset up to its
    current end into ``store``; the number of messages read. ``consumer_options``: the
    broker's address and credentials for ``AIOKafkaConsumer``. An error (from Kafka or a
    record the store cannot apply), ``IDLE_POLLS`` polls without a record or
    ``TIME_LIMIT_SECONDS`` end the preload early with one warning: Faust's recovery reads the
    rest from the persisted offset."""
    wanted = sorted(tps)
    if not wanted:
        return 0
    started, read = monotonic(), 0
    consumer = AIOKafkaConsumer(
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=FETCH_BYTES_PER_PARTITION,
        fetch_max_bytes=FETCH_BYTES,
        **consumer_options,
    )
    try:
        await consumer.start()
        partitions = {TopicPartition(tp.topic, tp.partition): tp for tp in wanted}
        consumer.assign(list(partitions))
        ends = await consumer.end_offsets(list(partitions))
        remaining: dict[TopicPartition, int] = {}
        for partition, tp in partitions.items():
            persisted = store.persisted_offset(tp)
            first = 0 if persisted is None else persisted + 1
            if ends[partition] > first:
                consumer.seek(partition, first)
                remaining[partition] = ends[partition]
            else:
                consumer.pause(partition)
        idle = 0
        while remaining:
            if idle >= IDLE_POLLS or monotonic() - started > TIME_LIMIT_SECONDS:
                why = f"no record for {idle} polls" if idle else "its time limit"
                log.warning("table %s: changelog preload stopped after %d messages (%s); "
                            "Faust's recovery reads the rest", name, read, why)
                break
            fetched = await consumer.getmany(timeout_ms=POLL_MS, max_records=BATCH_RECORDS)
            idle = 0 if fetched else idle + 1
            for partition, records in fetched.items():
                tp = partitions[partition]
                store.apply_changelog_batch(
                    [ChangelogMessage(tp, record.offset, record.key, record.value)
                     for record in records],
                    None,
                    None,
                )
                read += len(records)
            for partition in list(remaining):
                if await consumer.position(partition) >= remaining[partition]:
                    del remaining[partition]
                    consumer.pause(partition)
    except Exception as exc:  # the worker goes on: Faust's recovery reads the rest
        log.warning("table %s: changelog preload stopped after %d messages (%s); Faust's "
                    "recovery reads the rest", name, read, type(exc).__name__)
    finally:
        await consumer.stop()
    log.info("table %s: %d changelog messages preloaded in %.1f s", name, read,
             monotonic() - started)
    return read
