"""The input topics' handlers, one at a time per topic: take a batch, run it through ``runner``.

The per-member topics (user events, usage deltas, associations) are read in batches by
``batch_agent`` handlers (``streams.worker.intake``); the low-volume ones are Faust
agents at concurrency 1 that take ``BATCH_SIZE`` events or whatever arrived within
``BATCH_SECONDS``. ``runner`` is the shared ``BatchRunner`` over the worker's tables with the
rule policy built from the settings. ``barrier`` holds the per-member handlers until the
directory present at start is applied (see ``streams.worker.barrier``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import faust
from faust.types import Message

from streams.app import app, settings
from streams.config import Settings
from streams.kafkaio.security import KafkaSecurity
from streams.worker.barrier import DirectoryBarrier
from streams.worker.batch import BatchRunner
from streams.worker.channels import (
    active_partitions,
    dead_letter_topic,
    directory_fanout_topic,
    directory_topic,
    shadow_it_alerts_topic,
)
from streams.worker.intake import BatchingConsumer, BatchReader, Handler
from streams.worker.published import PublishedAlerts
from streams.worker.rules import Policy
from streams.worker.state import Tables, WorkerState
from streams.worker.tables import worker_tables

BATCH_SIZE = 2000
BATCH_SECONDS = 0.1


def policy_for(settings: Settings) -> Policy:
    """The rule policy configured by ``settings``."""
    return Policy(
        corporate_domains=frozenset(settings.corporate_domains),
        spend_daily_usd=settings.spend_spike_daily_usd,
        spend_factor=settings.spend_spike_factor,
    )


POLICY = policy_for(settings)


published_alerts = PublishedAlerts(
    settings.kafka_bootstrap_servers,
    shadow_it_alerts_topic.get_topic_name(),
    lambda: app.consumer_generation_id,
    security=KafkaSecurity.from_settings(settings),
)


def _state(tables: Tables) -> WorkerState:
    return WorkerState(tables, POLICY, published_alerts.get)


runner = BatchRunner(
    worker_tables(), _state, shadow_it_alerts_topic, dead_letter_topic, published_alerts
)


barrier = DirectoryBarrier(
    settings.kafka_bootstrap_servers,
    settings.worker_app_id,
    directory_topic.get_topic_name(),
    directory_fanout_topic.get_topic_name(),
    lambda: active_partitions(directory_fanout_topic.get_topic_name()),
    security=KafkaSecurity.from_settings(settings),
)


def batch_agent(
    topic: faust.TopicT, *, ready: Callable[[], Awaitable[None]] | None = None
) -> Callable[[Handler], Handler]:
    """Register ``handler`` for batches of ``topic`` read by a ``BatchReader``.

    The topic is subscribed (with acks) like an agent's; the reader runs as an app task, so
    it starts once the tables are recovered, and an exception in the handler stops the worker
    (the batch is read again after the restart). ``ready`` is awaited before each batch.
    """

    def register(handler: Handler) -> Handler:
        name = topic.get_topic_name()
        reader = BatchReader(name, settings.kafka_bootstrap_servers, handler, ready=ready)
        BatchingConsumer.batch_topics.add(name)
        app.topics.add(topic)
        app.task(reader.run)
        return handler

    return register


def messages_of(events: Sequence[faust.EventT]) -> list[Message]:
    """The messages of a batch of Faust events."""
    return [event.message for event in events]
