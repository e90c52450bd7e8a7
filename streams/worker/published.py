"""The alert events already on the alerts topic: a worker never publishes one of them again.

Alert event ids are deterministic (member, reason, occurrence, state), but what an alert
event says besides (the event that opened it, its time, the evidence of that moment) depends
on which input topic the worker happened to apply first. A worker that derives an alert event
again (a batch read again after a crash, a rebuild under a new app id, a partition taken over
from another worker) would otherwise publish the same id with other contents. Instead, the
worker reads the alerts topic before it evaluates members (and again after each rebalance,
from where it stopped), keeps the events there by id, and for an event already published
keeps the published one in its tables and publishes nothing.

Every alert event is kept (its Avro bytes, a few hundred bytes each): alerts are rare next to
members, and an event of a member on another worker's partitions costs memory, not
correctness.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from streams.errors import CodecError
from streams.events.codec import default_codec
from streams.events.records import ShadowItAlert
from streams.kafkaio.reader import committed_messages, topic_ends
from streams.kafkaio.security import PLAINTEXT, KafkaSecurity

log = logging.getLogger(__name__)


class PublishedAlerts:
    """Alert events by id, as the alerts topic holds them (and as this worker published them).

    ``generation`` names the current group assignment; ``catch_up`` reads the topic once per
    assignment (the first call, and the first after each rebalance).
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        generation: Callable[[], int],
        *,
        security: KafkaSecurity = PLAINTEXT,
    ) -> None:
        self._bootstrap = bootstrap
        self._security = security
        self._topic = topic
        self._generation = generation
        self._read_for: int | None = None
        self._next: dict[int, int] = {}
        self._events: dict[str, bytes] = {}
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._events)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._events

    def get(self, event_id: str) -> ShadowItAlert | None:
        """The published event with ``event_id``, or None."""
        value = self._events.get(event_id)
        if value is None:
            return None
        alert = default_codec().decode(value)
        return alert if isinstance(alert, ShadowItAlert) else None

    def note(self, event_id: str, value: bytes) -> None:
        """``value`` (an encoded alert event) is on the topic now."""
        self._events.setdefault(event_id, value)

    async def catch_up(self) -> None:
        """Read what the topic gained since the last read, once per group assignment."""
        generation = self._generation()
        if generation == self._read_for:
            return
        async with self._lock:
            if generation == self._read_for:
                return
            ends = await topic_ends(self._bootstrap, self._topic, security=self._security)
            before = len(self._events)
            async for record in committed_messages(
                self._bootstrap,
                self._topic,
                since=self._next,
                until=ends,
                security=self._security,
            ):
                if record.value is None:
                    continue
                try:
                    alert = default_codec().decode(record.value)
                except (CodecError, ValueError) as exc:
                    log.warning("alerts topic offset %d/%d undecodable: %s",
                                record.partition, record.offset, exc)
                    continue
                if isinstance(alert, ShadowItAlert):
                    self.note(alert.event_id, record.value)
            self._next = ends
            self._read_for = generation
            log.info("alerts topic read: %d alert events known (%d new)",
                     len(self._events), len(self._events) - before)
