"""The agents' shared shell: decode a batch, apply it to buffered tables, publish, then write.

One batch (``stream.take_events``) is processed in four steps, in this order:

1. decode each message with the Avro codec; a message that does not decode, or whose record
   cannot be applied, becomes a dead letter (the worker continues);
2. apply each record through ``state.WorkerState`` to ``Overlay`` views of the tables, which
   buffer writes (the last write per key wins) and remember the event that made each write;
3. publish the alert events and dead letters and wait until Kafka has them;
4. write the buffered values to the Faust tables (their changelogs), each with the event that
   caused it as Faust's current event, so the changelog partition is the event's partition.

Publishing before writing makes a crash between the two re-derive the same alert events on
redelivery (same deterministic ids) instead of losing them. Every agent that writes tables
holds ``WRITE_LOCK`` for its whole batch, so two agents never interleave read-modify-write of
the same table (agents run at concurrency 1, so this orders four agents, not many).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeVar

import faust
from faust.streams import _current_event  # Faust picks a table write's changelog partition here.

from streams.errors import CodecError, MalformedMessage
from streams.events.cloudevents import headers_for
from streams.events.codec import default_codec
from streams.events.keys import user_key
from streams.events.records import AvroRecord, ShadowItAlert
from streams.worker.deadletter import dead_letter_headers_for
from streams.worker.metrics import METRICS
from streams.worker.state import Row, Tables, WorkerState

R = TypeVar("R", bound=AvroRecord)

WRITE_LOCK = asyncio.Lock()

_DELETED: Any = object()


@dataclass(frozen=True, slots=True)
class Send:
    """One message to publish (``partition`` None: the producer's partitioner decides)."""

    topic: faust.TopicT
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    partition: int | None = None


class _Cursor:
    """The event being applied; overlays tag their writes with it."""

    event: Any = None


class Overlay(MutableMapping[str, Row]):
    """A table seen through a write buffer: reads fall through, writes wait for ``flush``."""

    def __init__(self, table: MutableMapping[str, Row], cursor: _Cursor) -> None:
        self._table = table
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

    def __iter__(self) -> Iterator[str]:
        keys = dict.fromkeys(self._table.keys())
        keys.update(dict.fromkeys(self._writes))
        return (key for key in keys if self._writes.get(key, (None,))[0] is not _DELETED)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def flush(self) -> None:
        """Write the buffered values to the table, each under the event that caused it."""
        previous = _current_event.get(None)
        try:
            for key, (value, event) in self._writes.items():
                _current_event.set(weakref.ref(event))
                if value is _DELETED:
                    self._table.pop(key, None)
                else:
                    self._table[key] = value
        finally:
            _current_event.set(previous)
        self._writes.clear()


def decoder(record_type: type[R]) -> Callable[[Any], R]:
    """Decode a Faust message whose value must hold a ``record_type`` record."""
    codec = default_codec()

    def decode(message: Any) -> R:
        value = message.value
        if value is None:
            raise MalformedMessage("no value (a tombstone) on an event topic")
        record = codec.decode(value)
        if not isinstance(record, record_type):
            raise MalformedMessage(f"expected {record_type.SCHEMA}, got {record.SCHEMA}")
        return record

    return decode


def alert_send(alert: ShadowItAlert, topic: faust.TopicT) -> Send:
    """An alert event as a message for the alerts topic."""
    METRICS.inc(
        "claude_worker_alert_events_total", reason=alert.reason.value, state=alert.state.value
    )
    return Send(topic, user_key(alert.org_id, alert.user_id), default_codec().encode(alert),
                headers_for(alert))


def dead_letter_send(message: Any, error: Exception, topic: faust.TopicT) -> Send:
    """The dead letter for ``message``: its own key and value, the reason in headers."""
    return Send(topic, message.key, message.value, dead_letter_headers_for(message, error))


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
    """Runs batches of one input topic through ``WorkerState`` (see the module docstring)."""

    tables: Tables
    state_factory: Callable[[Tables], WorkerState]
    alerts_topic: faust.TopicT
    dead_letter_topic: faust.TopicT

    async def run(
        self, events: Sequence[Any], decode: Callable[[Any], Any], apply: Apply
    ) -> None:
        """Process one batch of Faust events; ``decode`` turns a message into ``apply``'s input."""
        async with WRITE_LOCK:
            cursor = _Cursor()
            overlays = {
                item.name: Overlay(getattr(self.tables, item.name), cursor)
                for item in fields(Tables)
            }
            state = self.state_factory(Tables(**overlays))
            sends: list[Send] = []
            for event in events:
                cursor.event = event
                message = event.message
                try:
                    alerts = apply(state, decode(message), message.partition)
                except (CodecError, ValueError) as exc:
                    sends.append(dead_letter_send(message, exc, self.dead_letter_topic))
                    continue
                METRICS.inc("claude_worker_events_total", topic=message.topic)
                sends.extend(alert_send(alert, self.alerts_topic) for alert in alerts)
            await publish(sends)
            for overlay in overlays.values():
                overlay.flush()
