"""``CyclePublisher.commit_cycle``: a poll's events and the poller's new state, in one transaction.

The only user of the poller's transactional producer. Its transactional id is fixed per
connector, so a restarted poller fences a crashed one and Kafka aborts whatever the crashed
one left open: after a crash, either every message of a cycle is committed or none is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer

from streams.kafkaio.batches import PartitionBatches
from streams.kafkaio.messages import Outgoing
from streams.kafkaio.security import PLAINTEXT, KafkaSecurity

log = logging.getLogger(__name__)

# A 100 000-user baseline is one transaction of ~200 000 small messages.
TRANSACTION_TIMEOUT_MS = 300_000
SLOW_COMMIT_SECONDS = 5.0
"""After this long (and every time again) a commit still waiting for Kafka is logged."""


def transactional_id(app_id: str, connector: str) -> str:
    """The fixed transactional id of one connector's poller."""
    return f"{app_id}-poller-{connector}"


class CyclePublisher:
    """Commits whole poll cycles to Kafka; use as ``async with``."""

    def __init__(
        self, bootstrap: str, transactional_id: str, *, security: KafkaSecurity = PLAINTEXT
    ) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            **security.client_options(),
            transactional_id=transactional_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            max_batch_size=256 * 1024,
            transaction_timeout_ms=TRANSACTION_TIMEOUT_MS,
        )

    async def __aenter__(self) -> CyclePublisher:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._producer.stop()

    async def commit_cycle(
        self, events: Iterable[Outgoing], state: Iterable[Outgoing], *, name: str = "a cycle"
    ) -> None:
        """Publish one cycle (``name`` for the log) atomically.

        1. begin a transaction;
        2. send every event (user events, usage, associations, status), in order;
        3. send the state entries that record what those events describe;
        4. commit. Any failure aborts the transaction and raises: nothing of the cycle is
           visible to ``read_committed`` readers, and the next cycle starts from the last
           committed state, re-deriving the same events with the same ids.

        ``events`` and ``state`` are consumed as they are sent: given as generators, a large
        cycle's messages are encoded one at a time and never all held at once.

        While the broker is unreachable the producer keeps retrying; every
        ``SLOW_COMMIT_SECONDS`` one warning says so, and one more when the commit went through.
        """
        sent = [0, 0]
        commit = asyncio.ensure_future(self._commit(events, state, sent))
        waited = 0.0
        try:
            while not (await asyncio.wait({commit}, timeout=SLOW_COMMIT_SECONDS))[0]:
                waited += SLOW_COMMIT_SECONDS
                log.warning(
                    "committing %s (%d messages sent) has waited %.0fs for Kafka; is the "
                    "broker reachable? still trying",
                    name,
                    sum(sent),
                    waited,
                )
        except asyncio.CancelledError:
            commit.cancel()
            raise
        commit.result()
        if waited:
            log.warning("committed %s after waiting at least %.0fs for Kafka", name, waited)
        log.debug("committed %s: %d events, %d state entries", name, *sent)

    async def _commit(
        self, events: Iterable[Outgoing], state: Iterable[Outgoing], sent: list[int]
    ) -> None:
        """Send ``events`` then ``state`` in one transaction; ``sent`` counts each as it goes."""
        async with self._producer.transaction():
            batches = PartitionBatches(self._producer)
            for index, messages in enumerate((events, state)):
                for message in messages:
                    await batches.add(message)
                    sent[index] += 1
            await batches.flush()
