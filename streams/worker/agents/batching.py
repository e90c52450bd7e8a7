"""Registering handlers: a batch reader per per-member topic, batch sizes for Faust agents."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import faust
from faust.types import Message

from streams.worker.context import WorkerContext
from streams.worker.intake import BatchReader, Handler

BATCH_SIZE = 2000
BATCH_SECONDS = 0.1


def batch_agent(
    context: WorkerContext,
    topic: faust.TopicT,
    handler: Handler,
    *,
    ready: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Register ``handler`` for batches of ``topic`` read by a ``BatchReader``.

    The topic is subscribed (with acks) like an agent's; the reader runs as an app task, so
    it starts once the tables are recovered, and an exception in the handler stops the worker
    (the batch is read again after the restart). ``ready`` is awaited before each batch.
    """
    app = context.app
    name = topic.get_topic_name()
    reader = BatchReader(name, context.settings.kafka_bootstrap_servers, handler, ready=ready)
    app.batch_topics.add(name)
    app.topics.add(topic)
    app.task(reader.run)


def messages_of(events: Sequence[faust.EventT]) -> list[Message]:
    """The messages of a batch of Faust events."""
    return [event.message for event in events]
