"""The per-member topics, read in batches: user events → ``users`` (and the e-mail index),
usage deltas → ``usage``, app associations → ``associations``; then the rules."""

from __future__ import annotations

from collections.abc import Sequence

from faust.types import Message

from streams.events.records import AppAssociation, UsageDelta, UserEvent
from streams.worker.agents.batching import batch_agent
from streams.worker.batch import Apply, decoder, member_key_of
from streams.worker.context import WorkerContext
from streams.worker.intake import Handler
from streams.worker.state import WorkerState


def _handler(context: WorkerContext, record_type: type, apply: Apply) -> Handler:
    decode = decoder(record_type, key=member_key_of)

    async def handle(messages: Sequence[Message]) -> None:
        await context.runner.run(messages, decode, apply)

    return handle


def register(context: WorkerContext) -> None:
    """Member events (SNAPSHOT / ADDED / UPDATED / REMOVED), the highest revision per member,
    day and metric family, and the surfaces and connectors each member uses."""
    channels = context.channels
    for topic, record_type, apply in (
        (channels.user_events, UserEvent, WorkerState.apply_user_event),
        (channels.usage_deltas, UsageDelta, WorkerState.apply_usage_delta),
        (channels.app_associations, AppAssociation, WorkerState.apply_association),
    ):
        batch_agent(context, topic, _handler(context, record_type, apply),
                    ready=context.barrier.wait)
