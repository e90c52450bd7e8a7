"""The worker's one boundary with faust-streaming's internals.

The batch path (``intake``, ``batch``) and the table codecs need a few things Faust offers
no public call for. Each is a function or class here, named for what the worker needs, and
``tests/unit/worker/test_faustseam.py`` checks each against the installed Faust, so a Faust
release that changes one fails that test, not a running worker. Nothing else in ``streams``
names a private Faust attribute (a test checks that too).

==================================== ==================================================
here                                 Faust internal it stands for
==================================== ==================================================
``SeamApp._new_transport``           ``App._new_transport`` (the app's transport class)
``FetchFilteringConsumer``           ``Consumer._getmany`` (what the fetcher reads)
``TopicTrackingProducer``            ``Producer._ensure_producer`` (its aiokafka client)
``committed_offset``                 ``Consumer._committed_offset``
``add_gap``                          ``Consumer._add_gap`` (offsets without a message)
``consumer_message``                 ``ConsumerMessage(...)``, positional arguments
``note_inbound``                     ``Monitor.stream_inbound_time`` (stall warnings)
``table_store``                      ``Table.data`` (the store, without per-key sensors)
``write_store``                      ``faust.streams._current_event`` (a write's partition)
``set_persisted_offset``             ``Store.set_persisted_offset`` (RocksDB's offsets)
``use_value_codec``                  ``Table.value_serializer`` and its changelog's copies
``store_get``                        ``SerializedStore._get`` and its key and value codecs
``store_reader``                     ``memory.Store.data`` (the dict of its rows)
``CompactStore``                     ``faust.stores.base.SerializedStore`` (``compact://``)
``HeldPartitions``                   ``Store.on_rebalance``, ``persisted_offset`` (in memory)
``MemoryStore``                      ``faust.stores.memory.Store`` (``memory://``)
``RocksStore``                       ``faust.stores.rocksdb.Store`` (``rocksdb://``)
``changelog_reader_options``         ``App.in_transaction``, ``server_list`` (the broker)
``active_changelog_partitions``      ``App.assignor.assigned_standbys``
``QuietWorker``                      ``Worker.on_setup_root_logger`` and ``spinner``
``recovery_completed``               ``TableManager.recovery.completed``
``root_service``                     ``App.beacon.root.data`` (mode's service tree)
==================================== ==================================================
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import weakref
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import Any

import faust
import orjson
from aiokafka import AIOKafkaProducer
from faust.serializers.codecs import Codec
from faust.stores import memory as faust_memory
from faust.stores import rocksdb as faust_rocksdb
from faust.stores.base import SerializedStore
from faust.streams import _current_event, current_event
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, AppT
from faust.types.tuples import ConsumerMessage

from streams.worker.preload import preload


def client_auth(app: AppT) -> dict[str, Any]:
    """The aiokafka keyword arguments of the app's broker credentials (TLS, SASL)."""
    options: dict[str, Any] = faust_aiokafka.credentials_to_aiokafka_auth(
        app.conf.broker_credentials, app.conf.ssl_context
    )
    return options


def committed_offset(consumer: Any, tp: TP) -> int | None:
    """The offset the group last committed for ``tp`` (None: none yet)."""
    offset: int | None = consumer._committed_offset[tp]
    return offset


async def add_gap(consumer: Any, tp: TP, first: int, last: int) -> None:
    """Offsets ``first``..``last`` of ``tp`` hold no message: commits may pass them."""
    await consumer._add_gap(tp, first, last)


def consumer_message(tp: TP, record: Any, generation_id: int) -> ConsumerMessage:
    """A fetched aiokafka record as Faust's message (what Faust's offset bookkeeping tracks)."""
    return ConsumerMessage(
        record.topic,
        record.partition,
        record.offset,
        None if record.timestamp is None else record.timestamp / 1000.0,
        record.timestamp_type,
        record.headers,
        record.key,
        record.value,
        record.checksum,
        record.serialized_key_size,
        record.serialized_value_size,
        tp,
        generation_id=generation_id,
    )


def note_inbound(app: AppT, tps: Iterable[TP], now: float) -> None:
    """Messages of ``tps`` went through at ``now`` (Faust's stall warnings read this)."""
    inbound = app.monitor.stream_inbound_time
    for tp in tps:
        inbound[tp] = now


def table_store(table: Any) -> MutableMapping[Any, Any]:
    """The store behind ``table``: reads and writes without Faust's per-key machinery."""
    store: MutableMapping[Any, Any] = table.data
    return store


def write_store(
    store: MutableMapping[Any, Any],
    writes: Iterable[tuple[Any, Any, Any, tuple[bytes, bytes | None]]],
) -> None:
    """Write ``(key, value or None to delete, event, encoded)`` to ``store``, each with its
    ``event`` (anything with ``.message``) as Faust's current event: stores that keep one
    database per partition read the partition of a write from it. ``encoded`` is the key's
    and the value's bytes as the store's codecs make them (the changelog's, encoded once): a
    serialized store takes them as they are, other stores take the key and value. The
    memory store takes each key and value with its event's partition directly (setting the
    current event costs more than the write)."""
    if isinstance(store, MemoryStore):
        store.write_rows((key, value, event.message.partition) for key, value, event, _ in writes)
        return
    previous = _current_event.get(None)
    serialized = isinstance(store, SerializedStore)
    try:
        for key, value, event, (key_bytes, value_bytes) in writes:
            _current_event.set(weakref.ref(event))
            if serialized:
                if value_bytes is None:
                    store._del(key_bytes)
                else:
                    store._set(key_bytes, value_bytes)
            elif value is None:
                store.pop(key, None)
            else:
                store[key] = value
    finally:
        _current_event.set(previous)


def store_get(store: MutableMapping[Any, Any], key: Any, default: Any = None) -> Any:
    """``store``'s value of ``key``, else ``default``, in one look-up: a Faust store's ``get``
    raises and catches ``KeyError`` on every miss, and ``in`` then ``[]`` looks up twice."""
    if isinstance(store, SerializedStore):
        value = store._get(store._encode_key(key))
        return default if value is None else store._decode_value(value)
    return store[key] if key in store else default  # noqa: SIM401 (see above)


def store_reader(store: MutableMapping[Any, Any]) -> Callable[[Any, Any], Any]:
    """``store_get`` for one store, as one call: the memory store's own dict ``get``."""
    if isinstance(store, MemoryStore):
        reader: Callable[[Any, Any], Any] = store.data.get
        return reader
    return functools.partial(store_get, store)


def set_persisted_offset(store: Any, tp: TP, offset: int) -> None:
    """The store holds ``tp``'s changelog up to ``offset`` (recovery starts after it)."""
    store.set_persisted_offset(tp, offset)


def use_value_codec(table: faust.Table, codec: Codec) -> faust.Table:
    """``table`` reading and writing its values with ``codec`` everywhere.

    Faust gives a table (and so its store) the serializer of its value type, JSON, and passes
    it to the changelog topic, which writes it into the schema and into every copy of the
    topic (the recovery reads a copy): each of the three is set to ``codec``.
    """
    table.value_serializer = codec
    table.changelog_topic.value_serializer = codec
    table.changelog_topic.schema.value_serializer = codec
    return table


class FetchFilteringConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer that leaves the partitions of its app's ``batch_topics``
    unfetched (``streams.worker.intake`` reads those itself)."""

    @property
    def batch_topics(self) -> set[str]:
        topics: set[str] = self.app.batch_topics
        return topics

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> Any:
        if active_partitions is None:
            return await super()._getmany(active_partitions, timeout)
        fetched = {tp for tp in active_partitions if tp.topic not in self.batch_topics}
        if not fetched:
            await asyncio.sleep(timeout)
            return {}
        return await super()._getmany(fetched, timeout)

    def verify_event_path(self, now: float, tp: TP) -> None:
        """Faust's stall warnings, except for partitions that Faust does not fetch itself."""
        if tp.topic not in self.batch_topics:
            super().verify_event_path(now, tp)


class TopicTrackingProducer(faust_aiokafka.Producer):
    """Faust's aiokafka producer whose client keeps the metadata of every topic it sends to.

    aiokafka refreshes the metadata of the topics its client tracks only (of all topics while
    it tracks none), and a send tracks a topic only when the metadata lacks it. A topic learnt
    from a refresh of all topics (Faust's topic creation asks for one) is dropped by the
    next refresh once another topic is tracked (one created by a worker starting beside this
    one); a message pending for it then waits for its partition's leader for good (the
    producer's request timeout, 20 minutes), and so does the batch that sent it. Tracking
    every topic at its first send keeps its metadata.
    """

    _tracking: Any = None
    _tracked: frozenset[str] = frozenset()

    def tracking(self, topic: str) -> AIOKafkaProducer:
        """The aiokafka producer, its client keeping the metadata of ``topic`` (for sends
        that do not go through ``send``: record batches)."""
        producer = self._ensure_producer()
        if producer.client is not self._tracking:
            self._tracking, self._tracked = producer.client, frozenset()
        if topic not in self._tracked:
            producer.client.add_topic(topic)
            self._tracked |= {topic}
        return producer

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
        *,
        transactional_id: str | None = None,
    ) -> Any:
        self.tracking(topic)
        return await super().send(
            topic, key, value, partition, timestamp, headers, transactional_id=transactional_id
        )


class FetchFilteringTransport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with ``FetchFilteringConsumer`` and
    ``TopicTrackingProducer``."""

    Consumer = FetchFilteringConsumer
    Producer = TopicTrackingProducer


class SeamApp(faust.App):
    """Faust's app with the fetch-filtering transport and the set of ``batch_topics``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batch_topics: set[str] = set()

    def _new_transport(self) -> FetchFilteringTransport:
        return FetchFilteringTransport(self.conf.broker_consumer, self)


def changelog_reader_options(app: AppT) -> dict[str, Any]:
    """``AIOKafkaConsumer`` keyword arguments reading the app's changelogs as Faust does: its
    brokers and credentials, committed messages only when the app writes in transactions."""
    servers = faust_aiokafka.server_list(app.conf.broker, faust_aiokafka.Transport.default_port)
    return {
        "bootstrap_servers": servers,
        "isolation_level": "read_committed" if app.in_transaction else "read_uncommitted",
        **client_auth(app),
    }


def active_changelog_partitions(store: Any, assigned: Iterable[TP]) -> set[TP]:
    """The partitions of ``store``'s changelog in ``assigned`` that this worker serves (not
    the standby copies it keeps for another worker)."""
    standbys = store.app.assignor.assigned_standbys()
    topics = store.table.changelog_topic.topics
    return {tp for tp in assigned if tp.topic in topics and tp not in standbys}


class DirectCodecs:
    """A serialized store's string keys as JSON and its values through the table's codec,
    called directly: Faust's serializer registry costs more than the codec it calls (a
    row's look-up is about half registry). The bytes are the same."""

    value_serializer: Any

    def _encode_key(self, key: Any) -> bytes:
        if type(key) is str:
            return orjson.dumps(key)
        encoded: bytes = super()._encode_key(key)  # type: ignore[misc]
        return encoded

    def _decode_value(self, value: bytes | None) -> Any:
        codec = self.value_serializer
        if value is not None and isinstance(codec, Codec):
            return codec.loads(value)
        return super()._decode_value(value)  # type: ignore[misc]


def _exact(data: bytes) -> bytes:
    """A copy of ``data`` that takes its length: orjson's output keeps a buffer of 4 KiB."""
    return bytes(memoryview(data))


class HeldPartitions:
    """A store in memory that holds the partitions it serves, each up to an offset (its
    persisted offset): a rebalance drops every partition it no longer serves and reads the
    ones it starts serving in bulk (``streams.worker.preload``); a partition served before
    and after a rebalance is not read again. Rows of a partition it did not serve (a standby
    copy that a group leader of an older release assigned) are dropped before it serves it.
    Subclasses say which partitions hold rows and how one is dropped."""

    app: AppT
    table: Any
    table_name: str
    _offsets: dict[int, int]
    _served: frozenset[int] = frozenset()
    """The partitions served since the last rebalance."""

    def _held(self) -> set[int]:
        raise NotImplementedError

    def _drop(self, partition: int) -> None:
        """Forget the partition's rows and offset."""
        raise NotImplementedError

    def _applied(self, partition: int, offset: int) -> None:
        self._offsets[partition] = max(self._offsets.get(partition, -1), offset)

    async def on_rebalance(
        self, assigned: set[TP], revoked: set[TP], newly_assigned: set[TP], generation_id: int = 0
    ) -> None:
        """Drop what is not served before and after; read the rest in bulk."""
        served = active_changelog_partitions(self, assigned)
        kept = self._served & {tp.partition for tp in served}
        self._served = frozenset(tp.partition for tp in served)
        self._drop_all_but(kept)
        await preload(self, served, self.table_name, changelog_reader_options(self.app))

    async def on_recovery_completed(self, active_tps: set[TP], standby_tps: set[TP]) -> None:
        """Drop what a standby copy added to partitions not served (Faust's ``active_tps``
        may be a rebalance older than the one being read)."""
        self._drop_all_but(self._served)

    def _drop_all_but(self, partitions: Iterable[int]) -> None:
        for partition in (self._held() | set(self._offsets)) - set(partitions):
            self._drop(partition)

    def persisted_offset(self, tp: TP) -> int | None:
        return self._offsets.get(tp.partition)

    def set_persisted_offset(self, tp: TP, offset: int) -> None:
        self._offsets[tp.partition] = offset


class CompactStore(HeldPartitions, DirectCodecs, SerializedStore):
    """``WORKER_STORE=compact://``: a table in memory as its encoded rows, one dict per partition.

    A row takes the bytes of its changelog value (a few hundred) instead of a tree of Python
    objects (several times that); a read decodes it. Recovery copies the changelog's bytes
    without decoding them, and keeps only the partitions this worker serves
    (``HeldPartitions``).
    """

    def __post_init__(self) -> None:
        self._partitions: dict[int, dict[bytes, bytes]] = {}
        self._offsets: dict[int, int] = {}

    def _partition(self, partition: int) -> dict[bytes, bytes]:
        return self._partitions.setdefault(partition, {})

    def apply_changelog_batch(self, batch: Iterable[Any], to_key: Any, to_value: Any) -> None:
        for event in batch:
            message = event.message
            if message.value is None:
                self._partition(message.partition).pop(message.key, None)
            else:
                self._partition(message.partition)[message.key] = message.value
            self._applied(message.partition, message.offset)

    def _get(self, key: bytes) -> bytes | None:
        for rows in self._partitions.values():
            value = rows.get(key)
            if value is not None:
                return value
        return None

    def _set(self, key: bytes, value: bytes | None) -> None:
        event = current_event()
        if event is None:
            raise RuntimeError(f"a write to {self.table_name} without its event (partition)")
        if value is None:
            self._del(key)
        else:
            self._partition(event.message.partition)[_exact(key)] = _exact(value)

    def _del(self, key: bytes) -> None:
        for rows in self._partitions.values():
            rows.pop(key, None)

    def _iterkeys(self) -> Iterator[bytes]:
        return itertools.chain.from_iterable(self._partitions.values())

    def _itervalues(self) -> Iterator[bytes]:
        return itertools.chain.from_iterable(rows.values() for rows in self._partitions.values())

    def _iteritems(self) -> Iterator[tuple[bytes, bytes]]:
        return itertools.chain.from_iterable(rows.items() for rows in self._partitions.values())

    def _size(self) -> int:
        return sum(len(rows) for rows in self._partitions.values())

    def _contains(self, key: bytes) -> bool:
        return any(key in rows for rows in self._partitions.values())

    def _clear(self) -> None:
        self._partitions.clear()
        self._offsets.clear()

    def _held(self) -> set[int]:
        return set(self._partitions)

    def _drop(self, partition: int) -> None:
        self._partitions.pop(partition, None)
        self._offsets.pop(partition, None)

    def reset_state(self) -> None:
        return None

    async def backup_partition(
        self, tp: TP | int, flush: bool = True, purge: bool = False, keep: int = 1
    ) -> None:
        return None

    def restore_backup(self, tp: TP | int, latest: bool = True, backup_id: int = 0) -> None:
        return None


class MemoryStore(HeldPartitions, faust_memory.Store):
    """``WORKER_STORE=memory://``: Faust's in-memory store (rows as Python objects) that knows
    the partition of every key, also of the batch writer's writes, and holds the partitions
    it serves (``HeldPartitions``)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._offsets = {}

    def apply_changelog_batch(self, batch: Iterable[Any], to_key: Any, to_value: Any) -> None:
        """Apply changelog messages (keys as JSON, values in the table's codec) in order."""
        rows, partitions, codec = self.data, self._key_partition, self.value_serializer
        for event in batch:
            message = event.message
            key = orjson.loads(message.key)
            if message.value is None:
                rows.pop(key, None)
                partitions.pop(key, None)
            else:
                rows[key] = codec.loads(message.value)
                partitions[key] = message.partition
            self._applied(message.partition, message.offset)

    def write_rows(self, writes: Iterable[tuple[Any, Any, int]]) -> None:
        """Set each ``(key, value, partition)``, or delete its key where the value is None."""
        rows, partitions = self.data, self._key_partition
        for key, value, partition in writes:
            if value is None:
                rows.pop(key, None)
                partitions.pop(key, None)
            else:
                rows[key] = value
                partitions[key] = partition

    def __setitem__(self, key: Any, value: Any) -> None:
        self.data[key] = value
        event = current_event()
        if event is not None:
            self._key_partition[key] = event.message.partition

    def __delitem__(self, key: Any) -> None:
        del self.data[key]
        self._key_partition.pop(key, None)

    def _held(self) -> set[int]:
        return set(self._key_partition.values())

    def _drop(self, partition: int) -> None:
        for key in [key for key, held in self._key_partition.items() if held == partition]:
            self.data.pop(key, None)
            del self._key_partition[key]
        self._offsets.pop(partition, None)


class RocksStore(DirectCodecs, faust_rocksdb.Store):
    """``WORKER_STORE=rocksdb://``: Faust's RocksDB store whose served partitions are read in
    bulk from after their persisted offsets at each rebalance (``streams.worker.preload``),
    before Faust's recovery goes on from there."""

    async def on_rebalance(
        self, assigned: set[TP], revoked: set[TP], newly_assigned: set[TP], generation_id: int = 0
    ) -> None:
        await super().on_rebalance(assigned, revoked, newly_assigned, generation_id)
        served = active_changelog_partitions(self, assigned)
        await preload(self, served, self.table_name, changelog_reader_options(self.app))


class QuietWorker(faust.Worker):
    """Faust's worker without its terminal spinner.

    At log level WARN and above Faust's ``on_setup_root_logger`` sets the root logger to
    DEBUG so that every log record spins the spinner; that formats every aiokafka debug
    record and costs about a tenth of the throughput. Subclasses adjust the root logger's
    handlers in ``on_root_logger``.
    """

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None
        self.on_root_logger(logger)

    def on_root_logger(self, logger: logging.Logger) -> None:
        """The root logger is set up (its handlers made); nothing by default."""


def recovery_completed(app: AppT) -> bool:
    """The app's tables finished their recovery (since the last rebalance)."""
    done: bool = app.tables.recovery.completed.is_set()  # type: ignore[attr-defined]
    return done


def root_service(app: AppT) -> Any:
    """The service at the root of the app's tree: the worker running it, else the app."""
    root = app.beacon.root
    return app if root is None else root.data
