"""The shared batch shell: decode a batch, apply it to buffered tables, publish, then write.

One batch of Kafka messages (from an ``intake.BatchReader`` or an agent's ``take_events``) is
processed in four steps, in this order:

1. decode each message with the Avro codec; a message that does not decode, or whose record
   cannot be applied, becomes a dead letter (the worker continues);
2. apply each record through ``state.WorkerState`` to ``Overlay`` views of the tables, which
   buffer writes (the last write per key wins) and remember the message that made each write;
3. publish the alert events not on the alerts topic yet (``published.PublishedAlerts``) and
   the dead letters, and wait until Kafka has them;
4. write the buffered values to the tables' changelogs, each on the partition of the message
   that caused it, wait until Kafka has them, then to the tables' stores (``write_tables``).

Publishing before writing makes a crash between the two re-derive the same alert events on
redelivery (same deterministic ids) instead of losing them; being on the topic, they are not
published again. Every batch holds its runner's ``lock`` while it runs, so two handlers never
interleave read-modify-write of the same table (each input topic has one handler at a time,
so this orders a handful of tasks, not many).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Generic, TypeVar

import faust
from faust.types import TP

from streams.errors import CodecError, MalformedMessage
from streams.events.cloudevents import headers_for
from streams.events.codec import default_codec
from streams.events.deadletter import PREFIX as DEAD_LETTER_PREFIX
from streams.events.keys import user_key
from streams.events.records import AvroRecord, ShadowItAlert
from streams.heap import SettledHeap
from streams.kafkaio.batches import PartitionBatches
from streams.kafkaio.messages import Outgoing
from streams.worker.deadletter import dead_letter_headers_for
from streams.worker.faustseam import (
    set_persisted_offset,
    store_reader,
    table_store,
    write_store,
)
from streams.worker.metrics import METRICS
from streams.worker.published import PublishedAlerts
from streams.worker.rows import RowJson
from streams.worker.state import Tables, WorkerState

R = TypeVar("R", bound=AvroRecord)
Row = TypeVar("Row")

PRODUCE_REQUEST_BYTES = 1_000_000
"""The producer's largest request (``producer_max_request_size``, Faust's default)."""
RECORD_OVERHEAD_BYTES = 4096
"""Room left in a request for the record batch framing."""

_DELETED: Any = object()
_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class Send:
    """One message to publish (``partition`` None: the producer's partitioner decides)."""

    topic: faust.TopicT
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    partition: int | None = None


class Source:
    """A message as Faust's current event: table writes read ``event.message.partition``."""

    __slots__ = ("__weakref__", "message")

    def __init__(self, message: Any) -> None:
        self.message = message


class _Cursor:
    """The message being applied (as a ``Source``); overlays tag their writes with it."""

    event: Source | None = None


class Overlay(MutableMapping[str, Row], Generic[Row]):
    """A table seen through a write buffer: reads fall through, writes wait for ``changes``."""

    def __init__(self, table: MutableMapping[str, Row], cursor: _Cursor) -> None:
        self._table = table
        self._read = store_reader(table)
        self._cursor = cursor
        self._writes: dict[str, tuple[Any, Any]] = {}

    def __getitem__(self, key: str) -> Row:
        if key in self._writes:
            value = self._writes[key][0]
            if value is _DELETED:
                raise KeyError(key)
            return value
        return self._table[key]

    def __setitem__(self, key: str, value: Row) -> None:
        self._writes[key] = (value, self._cursor.event)

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._writes[key] = (_DELETED, self._cursor.event)

    def __contains__(self, key: object) -> bool:
        return self.get(key, _MISSING) is not _MISSING

    def __iter__(self) -> Iterator[str]:
        keys = dict.fromkeys(self._table.keys())
        keys.update(dict.fromkeys(self._writes))
        return (key for key in keys if self._writes.get(key, (None,))[0] is not _DELETED)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def get(self, key: str, default: Any = None) -> Any:
        write = self._writes.get(key)
        if write is None:
            return self._read(key, default)
        return default if write[0] is _DELETED else write[0]

    def changes(self) -> list[tuple[str, Row | None, Source]]:
        """The buffered writes (None for a deletion), each with the message that caused it."""
        return [
            (key, None if value is _DELETED else value, source)
            for key, (value, source) in self._writes.items()
        ]


async def write_tables(tables: Mapping[str, Any], overlays: Mapping[str, Overlay]) -> None:
    """Write each overlay's changes to its Faust table: the changelog first, then the store.

    Does what ``table[key] = value`` does minus Faust's per-write machinery (a future per
    message, sensors): the changelog gets the JSON key and value (a tombstone for a
    deletion; the same bytes a serialized store keeps) on the partition of the message that
    caused it, in one record batch per partition (``PartitionBatches``); once Kafka has
    acknowledged every write, the store gets the values, with the causing message as Faust's
    current event (stores that keep one database per partition read it), and the newest
    changelog offsets as its persisted offsets. A failure before that leaves the store as it
    was, so the batch read again recomputes and rewrites the same changes.
    """
    encode = RowJson()
    changes = {
        name: [(key, value, source, (encode(key), None if value is None else encode(value)))
               for key, value, source in overlay.changes()]
        for name, overlay in overlays.items()
    }
    topics = {name: tables[name].changelog_topic.get_topic_name() for name in changes}
    batches: PartitionBatches | None = None
    for name, table_changes in changes.items():
        if not table_changes:
            continue
        topic = topics[name]
        producer = tables[name].app.producer.tracking(topic)
        batches = batches or PartitionBatches(producer)
        for _, _, source, (key_bytes, value_bytes) in table_changes:
            await batches.add(
                Outgoing(topic, key_bytes, value_bytes, partition=source.message.partition)
            )
    newest = {} if batches is None else await batches.flush()
    for name, table_changes in changes.items():
        store = table_store(tables[name])
        write_store(store, table_changes)
        for (topic, partition), offset in newest.items():
            if topic == topics[name]:
                set_persisted_offset(store, TP(topic, partition), offset)


def decoder(
    record_type: type[R], *, key: Callable[[R], bytes] | None = None
) -> Callable[[Any], R]:
    """Decode a message whose value must hold a ``record_type`` record.

    With ``key``, the message must also be under ``key(record)``: a per-member record under
    another key sits on another member's partition, and applying it would split the member
    across partitions (and workers). The schemas are loaded at the first message.
    """

    def decode(message: Any) -> R:
        value = message.value
        if value is None:
            raise MalformedMessage("no value (a tombstone) on an event topic")
        record = default_codec().decode(value)
        if not isinstance(record, record_type):
            raise MalformedMessage(f"expected {record_type.SCHEMA}, got {record.SCHEMA}")
        if key is not None and message.key != (owner := key(record)):
            raise MalformedMessage(f"a {record_type.__name__} of {owner!r} under another key")
        return record

    return decode


def member_key_of(record: Any) -> bytes:
    """The Kafka key of a per-member record: ``org:user``."""
    return user_key(record.org_id, record.user_id)


def alert_send(alert: ShadowItAlert, topic: faust.TopicT) -> Send:
    """An alert event as a message for the alerts topic."""
    METRICS.inc(
        "claude_worker_alert_events_total", reason=alert.reason.value, state=alert.state.value
    )
    return Send(topic, user_key(alert.org_id, alert.user_id), default_codec().encode(alert),
                headers_for(alert))


def dead_letter_send(message: Any, error: Exception, topic: faust.TopicT) -> Send:
    """The dead letter for ``message``: its own key and value, the reason in headers.

    A value too long for one produce request (the broker may take more than the producer
    sends) is cut to what fits; the reason says so and gives the original length.
    """
    value = message.value
    headers = dead_letter_headers_for(message, error)
    room = (
        PRODUCE_REQUEST_BYTES
        - RECORD_OVERHEAD_BYTES
        - len(message.key or b"")
        - sum(len(name) + len(content) for name, content in headers)
    )
    if value is not None and len(value) > room:
        keep = max(room - 128, 0)  # 128: room for the note added to the reason
        note = f" (value of {len(value)} bytes cut to its first {keep})"
        headers = [
            (name, content + note.encode() if name == f"{DEAD_LETTER_PREFIX}reason" else content)
            for name, content in headers
        ]
        value = value[:keep]
    return Send(topic, message.key, value, headers)


async def publish(sends: Sequence[Send]) -> None:
    """Send every message and wait until the broker acknowledged all of them."""
    pending = [
        await send.topic.send(
            key=send.key, value=send.value, headers=send.headers, partition=send.partition
        )
        for send in sends
    ]
    if pending:
        await asyncio.gather(*pending)


Apply = Callable[[WorkerState, Any, int], list[ShadowItAlert]]


@dataclass(frozen=True, slots=True)
class BatchRunner:
    """Runs batches of one input topic through ``WorkerState`` (see the module docstring).

    ``tables`` are Faust tables; the overlays read their stores directly.
    """

    tables: Tables
    state_factory: Callable[[Tables], WorkerState]
    alerts_topic: faust.TopicT
    dead_letter_topic: faust.TopicT
    published: PublishedAlerts
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held by every batch of the app's handlers (one runner per app)."""
    heap: SettledHeap = field(default_factory=SettledHeap)
    """Each batch runs without collections and settles the heap: the rows it made are
    long-lived (see ``streams.heap``)."""

    async def run(
        self, messages: Sequence[Any], decode: Callable[[Any], Any], apply: Apply
    ) -> None:
        """Process one batch of messages; ``decode`` turns a message into ``apply``'s input."""
        await self.published.catch_up()
        async with self.lock:
            with self.heap.working():
                await self._process(messages, decode, apply)

    async def _process(
        self, messages: Sequence[Any], decode: Callable[[Any], Any], apply: Apply
    ) -> None:
        cursor = _Cursor()
        tables = {item.name: getattr(self.tables, item.name) for item in fields(Tables)}
        overlays = {name: Overlay(table_store(table), cursor) for name, table in tables.items()}
        state = self.state_factory(Tables(**overlays))
        sends: list[Send] = []
        fresh: dict[str, Send] = {}
        applied: Counter[str] = Counter()
        for message in messages:
            cursor.event = Source(message)
            try:
                alerts = apply(state, decode(message), message.partition)
            except (CodecError, ValueError) as exc:
                sends.append(dead_letter_send(message, exc, self.dead_letter_topic))
                continue
            applied[message.topic] += 1
            for alert in alerts:
                if alert.event_id in self.published:
                    METRICS.inc("claude_worker_alert_events_already_published_total")
                elif alert.event_id not in fresh:
                    fresh[alert.event_id] = alert_send(alert, self.alerts_topic)
                    sends.append(fresh[alert.event_id])
        for topic, count in applied.items():
            METRICS.inc("claude_worker_events_total", count, topic=topic)
        await publish(sends)
        for event_id, send in fresh.items():
            self.published.note(event_id, send.value or b"")
        await write_tables(tables, overlays)
