"""User events → ``users`` (and the e-mail index) → rules."""

from __future__ import annotations

from collections.abc import Sequence

from faust.types import Message

from streams.events.records import UserEvent
from streams.worker.agents import barrier, batch_agent, runner
from streams.worker.batch import decoder, member_key_of
from streams.worker.channels import user_events_topic
from streams.worker.state import WorkerState

_decode = decoder(UserEvent, key=member_key_of)


@batch_agent(user_events_topic, ready=barrier.wait)
async def fold_user_events(messages: Sequence[Message]) -> None:
    """Apply member SNAPSHOT / ADDED / UPDATED / REMOVED events."""
    await runner.run(messages, _decode, WorkerState.apply_user_event)
