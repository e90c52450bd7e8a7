"""Activity Feed rows → ``activity`` (a member's logins, connectors, role changes, keys)."""

from __future__ import annotations

from collections.abc import Sequence

from faust.types import Message

from streams.events.activity_facts import activity_key
from streams.events.records import Activity
from streams.worker.agents.batching import batch_agent
from streams.worker.batch import decoder
from streams.worker.context import WorkerContext
from streams.worker.state import WorkerState


def register(context: WorkerContext) -> None:
    """What the feed says about each member, and the keys created in each org."""
    decode = decoder(Activity, key=activity_key)

    async def handle(messages: Sequence[Message]) -> None:
        await context.runner.run(messages, decode, WorkerState.apply_activity)

    # Activities are evaluated against the directory, as the member topics are: they wait
    # for it too.
    batch_agent(context, context.channels.activities, handle, ready=context.barrier.wait)
