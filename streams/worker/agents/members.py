"""The per-member topics, read in batches: user events → ``users`` (and the e-mail index),
usage deltas → ``usage``, app associations → ``associations``; then the rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from streams.events.topics import APP_ASSOCIATIONS, USAGE_DELTAS, USER_EVENTS, TopicSpec
from streams.kafkaio.messages import Incoming
from streams.worker.agents.batching import batch_agent
from streams.worker.batch import Apply, decoder, member_key_of
from streams.worker.context import WorkerContext
from streams.worker.intake import Handler
from streams.worker.state import WorkerState

MEMBER_FOLDS: tuple[tuple[TopicSpec, Apply], ...] = (
    (USER_EVENTS, WorkerState.apply_user_event),
    (USAGE_DELTAS, WorkerState.apply_usage_delta),
    (APP_ASSOCIATIONS, WorkerState.apply_association),
)
"""Each per-member topic with how ``WorkerState`` applies its records."""


def member_decoder(spec: TopicSpec) -> Callable[[Incoming], Any]:
    """Decode a message of the per-member topic ``spec`` (its record type, its member's key)."""
    if spec.record is None:
        raise ValueError(f"{spec.suffix} carries no records")
    return decoder(spec.record, key=member_key_of)


def _handler(context: WorkerContext, spec: TopicSpec, apply: Apply) -> Handler:
    decode = member_decoder(spec)

    async def handle(messages: Sequence[Incoming]) -> None:
        await context.runner.run(messages, decode, apply)

    return handle


def register(context: WorkerContext) -> None:
    """Member events (SNAPSHOT / ADDED / UPDATED / REMOVED), the highest revision per member,
    day and metric family, and the surfaces and connectors each member uses."""
    channels = context.channels
    topics = {USER_EVENTS: channels.user_events, USAGE_DELTAS: channels.usage_deltas,
              APP_ASSOCIATIONS: channels.app_associations}
    for spec, apply in MEMBER_FOLDS:
        batch_agent(context, topics[spec], _handler(context, spec, apply),
                    ready=context.barrier.wait)
