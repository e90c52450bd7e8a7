"""The one shape of a message on its way to Kafka."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to produce: topic, key, value (``None`` is a tombstone) and headers; on
    ``partition``, or where the default partitioner puts its key (None)."""

    topic: str
    key: bytes
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    partition: int | None = None
