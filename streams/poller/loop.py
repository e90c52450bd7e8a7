"""Run the poller: every configured connector, each data type on its own schedule.

At start the committed state of every connector is rebuilt from the state topic. A connector
that has state but is no longer configured gets its final ``DELETED`` status (its history
stays). A cycle that fails to commit (broker down, fenced producer) is retried from freshly
read state with a new producer, so nothing is lost and nothing is emitted twice with new ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from aiokafka.errors import KafkaError

from streams.client import ApiClient, RateBudgets, RetryPolicy
from streams.client.api import DEFAULT_TIMEOUT
from streams.client.transport import DEFAULT_RETRY
from streams.config import Settings
from streams.errors import CodecError, ConfigError
from streams.events.codec import Codec, default_codec
from streams.events.records import ConnectorState, CursorState, PollerState
from streams.events.topics import POLLER_STATE
from streams.kafkaio import ensure_topics, read_compacted
from streams.kafkaio.security import KafkaSecurity
from streams.poller.collect import Progress
from streams.poller.cycle import (
    ConnectorPoller,
    CycleReport,
    DataType,
    PollerOptions,
    cycle_poll_id,
    event_message,
)
from streams.poller.publish import CyclePublisher, transactional_id
from streams.poller.snapshot import PollContext
from streams.poller.state import CONNECTOR_CURSOR, CommittedState, StateChanges
from streams.poller.status import status_event

log = logging.getLogger(__name__)

RETRY_SECONDS = (1, 2, 5, 10, 30, 60)


def options_for(settings: Settings) -> PollerOptions:
    return PollerOptions(
        topic_prefix=settings.topic_prefix,
        guard_fraction=settings.removal_guard_fraction,
        revision_window_days=settings.revision_window_days,
        activity_feed=settings.activity_poll_seconds > 0,
    )


async def load_state(settings: Settings, codec: Codec) -> list[PollerState]:
    """Every committed state entry of every connector (undecodable entries are reported)."""
    raw = await read_compacted(
        settings.kafka_bootstrap_servers,
        POLLER_STATE.name(settings.topic_prefix),
        security=KafkaSecurity.from_settings(settings),
    )
    records = []
    for key, value in raw.items():
        try:
            record = codec.decode(value)
        except CodecError as exc:
            log.error("skipping an undecodable poller-state entry %r: %s", key, exc)
            continue
        if isinstance(record, PollerState):
            records.append(record)
    return records


async def finalize_removed(
    settings: Settings, codec: Codec, records: Sequence[PollerState], configured: set[str]
) -> list[str]:
    """Emit the final DELETED status for connectors with state that are no longer configured."""
    removed = []
    for name in sorted({record.connector for record in records} - configured):
        state = CommittedState.from_records(name, records)
        cursor = state.cursors.get(CONNECTOR_CURSOR)
        if state.org_id is None or (cursor is not None and cursor.status is ConnectorState.DELETED):
            continue
        await publish_deleted(settings, codec, state)
        removed.append(name)
    return removed


async def publish_deleted(settings: Settings, codec: Codec, state: CommittedState) -> None:
    """Commit a connector's DELETED status and cursor; its events and state stay as history."""
    assert state.org_id is not None
    now = datetime.now(UTC)
    cycle = state.cycle + 1
    poll_id = cycle_poll_id(state.connector, cycle)
    previous = state.cursors.get(CONNECTOR_CURSOR)
    reason = "connector removed from the configuration"
    context = PollContext(state.org_id, state.connector, poll_id, now)
    status = status_event(
        context,
        ConnectorState.DELETED,
        previous.status if previous else None,
        reason,
        baseline_complete=state.baseline_complete,
    )
    changes = StateChanges(state.org_id, state.connector, poll_id, now)
    changes.cursor(
        CursorState(
            CONNECTOR_CURSOR, cycle, None, state.baseline_complete, ConnectorState.DELETED, None
        )
    )
    message = event_message(status, codec, settings.topic_prefix)
    tid = transactional_id(settings.worker_app_id, state.connector)
    security = KafkaSecurity.from_settings(settings)
    bootstrap = settings.kafka_bootstrap_servers
    async with CyclePublisher(bootstrap, tid, security=security) as publisher:
        await publisher.commit_cycle([message], changes.messages(codec, settings.topic_prefix))


def stderr_progress(connector: str) -> Progress:
    """Progress lines on stderr, prefixed with the connector name."""
    return lambda line: print(f"[{connector}] {line}", file=sys.stderr, flush=True)


class PollerRunner:
    """Owns the clients, publishers and pollers of every configured connector.

    ``retry`` and ``timeout`` are the API clients' (tests shrink the waits; the defaults are
    the production policy).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        quiet: bool = False,
        retry: RetryPolicy = DEFAULT_RETRY,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.settings = settings
        self.codec = default_codec()
        self.budgets = RateBudgets.from_settings(settings)
        self.quiet = quiet
        self.retry = retry
        self.timeout = timeout
        self.pollers: dict[str, ConnectorPoller] = {}
        self._publishers: dict[str, CyclePublisher] = {}
        """The current publisher of each connector (``recover`` replaces a fenced one)."""
        self._stack = contextlib.AsyncExitStack()
        self._stack.push_async_callback(self._close_publishers)

    async def __aenter__(self) -> PollerRunner:
        settings = self.settings
        connectors = settings.connectors
        if not connectors:
            raise ConfigError(
                "no connector configured: set CLAUDE_ANALYTICS_API_KEY and/or CLAUDE_ADMIN_API_KEY,"
                " or list [[connectors]] in the CLAUDE_CONNECTOR_CONFIG file"
            )
        await ensure_topics(
            settings.kafka_bootstrap_servers,
            settings.topic_prefix,
            settings.topic_partitions,
            settings.topic_replication_factor,
            security=KafkaSecurity.from_settings(settings),
        )
        publishers = {
            connector.name: await self._publisher(connector.name) for connector in connectors
        }
        # Read state only after every publisher has fenced its crashed predecessor, whose
        # open transaction Kafka then aborts: the state read is the last committed cycle.
        records = await load_state(settings, self.codec)
        configured = {connector.name for connector in connectors}
        for name in await finalize_removed(settings, self.codec, records, configured):
            log.warning("connector %s is no longer configured: emitted its DELETED status", name)
        for connector in connectors:
            client = await self._stack.enter_async_context(
                ApiClient(connector, budgets=self.budgets, retry=self.retry, timeout=self.timeout)
            )
            progress = (lambda _: None) if self.quiet else stderr_progress(connector.name)
            self.pollers[connector.name] = ConnectorPoller(
                client,
                publishers[connector.name],
                self.codec,
                CommittedState.from_records(connector.name, records),
                options_for(settings),
                progress=progress,
            )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stack.aclose()

    async def _publisher(self, name: str) -> CyclePublisher:
        """A started publisher for ``name``; the one it replaces (now fenced) is closed."""
        publisher = await CyclePublisher(
            self.settings.kafka_bootstrap_servers,
            transactional_id(self.settings.worker_app_id, name),
            security=KafkaSecurity.from_settings(self.settings),
        ).__aenter__()
        previous = self._publishers.get(name)
        self._publishers[name] = publisher
        if previous is not None:
            with contextlib.suppress(KafkaError, OSError):
                await previous.__aexit__(None, None, None)
        return publisher

    async def _close_publishers(self) -> None:
        for publisher in self._publishers.values():
            await publisher.__aexit__(None, None, None)

    async def run_once(self) -> list[CycleReport]:
        """One full cycle of every connector, concurrently."""
        return list(await asyncio.gather(*(p.run_cycle() for p in self.pollers.values())))

    async def recover(self, name: str) -> None:
        """After a failed commit: fresh state from the topic and a fresh producer."""
        poller = self.pollers[name]
        records = await load_state(self.settings, self.codec)
        poller.publisher = await self._publisher(name)
        poller.state = CommittedState.from_records(name, records)

    async def cycle(
        self, name: str, due: Iterable[DataType] | None = None, *, wait: float = 0.0
    ) -> CycleReport | None:
        """One cycle of connector ``name`` (``due``: what to poll, else everything).

        A cycle that could not commit is logged and gives None; after ``wait`` seconds the
        connector is recovered (fresh state and producer) for the next one.
        """
        try:
            return await self.pollers[name].run_cycle(due)
        except (KafkaError, OSError) as exc:
            log.error("[%s] could not commit the cycle (%s); retrying in %ss", name, exc, wait)
            await asyncio.sleep(wait)
            with contextlib.suppress(KafkaError, OSError):
                await self.recover(name)
            return None

    async def run_forever(self) -> None:
        """Poll every connector on its schedule until cancelled."""
        await asyncio.gather(*(self._schedule(name) for name in self.pollers))

    async def _schedule(self, name: str) -> None:
        poller = self.pollers[name]
        intervals = {
            DataType.ROSTER: self.settings.roster_poll_seconds,
            DataType.ANALYTICS: self.settings.analytics_poll_seconds,
            DataType.USAGE: self.settings.cost_poll_seconds,
            DataType.ACTIVITIES: self.settings.activity_poll_seconds,
        }
        loop = asyncio.get_running_loop()
        next_due = {data_type: loop.time() for data_type in poller.supported()}
        failures = 0
        while True:
            delay = max(0.0, min(next_due.values()) - loop.time())
            await asyncio.sleep(delay)
            now = loop.time()
            due = {data_type for data_type, at in next_due.items() if at <= now}
            wait = RETRY_SECONDS[min(failures + 1, len(RETRY_SECONDS)) - 1]
            report = await self.cycle(name, due, wait=wait)
            if report is None:
                failures += 1
                continue
            failures = 0
            log.info(
                "[%s] %s: %d events %s status=%s",
                name,
                report.poll_id,
                report.events,
                report.counts,
                report.status,
            )
            for data_type in due:
                next_due[data_type] = now + poller.retry_interval(
                    data_type, intervals[data_type], self.settings.unavailable_retry_seconds
                )
