"""Startup ordering: the directory that exists when the worker starts is applied first.

Without it, a worker starting on full topics would evaluate members before their directory
records went through the fan-out and raise UNMANAGED_IDENTITY alerts that the next moment
resolves. The per-member agents therefore wait, before their first batch, until

1. every directory message present at start has been fanned out (by this worker, or by the
   worker that owns that directory partition, as its committed offset shows), and
2. this worker's partitions of the fan-out topic have been applied up to their end offsets
   taken after step 1.

The wait is bounded (``TIMEOUT_SECONDS``); after it the worker goes on and says so in the log.
Partitions assigned by a later rebalance do not wait again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiokafka.admin import AIOKafkaAdminClient

from streams.kafkaio.reader import topic_ends
from streams.kafkaio.security import PLAINTEXT, KafkaSecurity

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 120.0
POLL_SECONDS = 0.1


async def committed_offsets(
    bootstrap: str, group: str, topic: str, *, security: KafkaSecurity = PLAINTEXT
) -> dict[int, int]:
    """Offsets the consumer group ``group`` committed on ``topic``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **security.client_options())
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


def caught_up(progress: Mapping[int, int], targets: Mapping[int, int]) -> bool:
    """True when every partition's progress (next offset) reached its target."""
    return all(progress.get(partition, 0) >= end for partition, end in targets.items())


class DirectoryBarrier:
    """Holds the per-member agents until the directory present at start is applied."""

    def __init__(
        self,
        bootstrap: str,
        group: str,
        directory_topic: str,
        fanout_topic: str,
        owned_fanout_partitions: Callable[[], list[int]],
        *,
        timeout: float = TIMEOUT_SECONDS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        security: KafkaSecurity = PLAINTEXT,
    ) -> None:
        self._bootstrap = bootstrap
        self._security = security
        self._group = group
        self._directory_topic = directory_topic
        self._fanout_topic = fanout_topic
        self._owned = owned_fanout_partitions
        self._timeout = timeout
        self._sleep = sleep
        self.fanned_out: dict[int, int] = {}
        self.applied: dict[int, int] = {}
        self._released = False
        self._lock = asyncio.Lock()

    def note_fanned_out(self, partition: int, offset: int) -> None:
        """The fan-out published directory message ``offset`` of ``partition``."""
        self.fanned_out[partition] = max(self.fanned_out.get(partition, 0), offset + 1)

    def note_applied(self, partition: int, offset: int) -> None:
        """The fan-out message ``offset`` of ``partition`` was applied to the tables."""
        self.applied[partition] = max(self.applied.get(partition, 0), offset + 1)

    async def wait(self) -> None:
        """Return once the start-up directory is applied (at once after the first time)."""
        if self._released:
            return
        async with self._lock:
            if self._released:
                return
            try:
                await asyncio.wait_for(self._catch_up(), self._timeout)
            except TimeoutError:
                log.warning(
                    "the directory was not applied within %.0fs; evaluating members anyway",
                    self._timeout,
                )
            self._released = True

    async def _catch_up(self) -> None:
        ends = await topic_ends(self._bootstrap, self._directory_topic, security=self._security)
        targets = {p: end for p, end in ends.items() if end > 0}
        await self._until(self._directory_topic, self.fanned_out, targets)
        owned = set(self._owned())
        fanout_targets = {
            p: end
            for p, end in (
                await topic_ends(self._bootstrap, self._fanout_topic, security=self._security)
            ).items()
            if p in owned and end > 0
        }
        await self._until(self._fanout_topic, self.applied, fanout_targets)
        log.info("directory applied (%d directory partitions); evaluating members", len(targets))

    async def _until(self, topic: str, local: dict[int, int], targets: dict[int, int]) -> None:
        """Wait until this process's progress, or the group's commits, reach ``targets``."""
        rounds = 0
        while not caught_up(local, targets):
            rounds += 1
            if rounds % 10 == 1:
                committed = await committed_offsets(
                    self._bootstrap, self._group, topic, security=self._security
                )
                progress = {p: max(committed.get(p, 0), local.get(p, 0)) for p in targets}
                if caught_up(progress, targets):
                    return
            await self._sleep(POLL_SECONDS)
