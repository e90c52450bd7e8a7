"""App associations → ``associations`` → rules (connectors on personal credentials)."""

from __future__ import annotations

from collections.abc import Sequence

from faust.types import Message

from streams.events.records import AppAssociation
from streams.worker.agents import barrier, batch_agent, runner
from streams.worker.batch import decoder, member_key_of
from streams.worker.channels import app_associations_topic
from streams.worker.state import WorkerState

_decode = decoder(AppAssociation, key=member_key_of)


@batch_agent(app_associations_topic, ready=barrier.wait)
async def fold_associations(messages: Sequence[Message]) -> None:
    """Record the surfaces and connectors each member uses, with how they were authorised."""
    await runner.run(messages, _decode, WorkerState.apply_association)
