"""The shapes of a message on its way to Kafka and of one read from it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to produce: topic, key, value (``None`` is a tombstone) and headers; on
    ``partition``, or where the default partitioner puts its key (None)."""

    topic: str
    key: bytes
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    partition: int | None = None


class Incoming(Protocol):
    """A message read from Kafka, as handlers use it: an aiokafka ``ConsumerRecord`` or a
    Faust ``Message`` (headers are pairs of name and value, or a mapping)."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> bytes | None: ...

    @property
    def headers(self) -> Iterable[tuple[str, bytes | None]] | None: ...
