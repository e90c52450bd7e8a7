"""Activity Feed rows → ``activity`` (a member's logins, connectors, role changes, keys)."""

from __future__ import annotations

from collections.abc import Sequence

from faust.types import Message

from streams.events.activity_facts import activity_key
from streams.events.records import Activity
from streams.worker.agents import batch_agent, runner
from streams.worker.batch import decoder
from streams.worker.channels import activities_topic
from streams.worker.state import WorkerState

_decode = decoder(Activity, key=activity_key)


@batch_agent(activities_topic)
async def fold_activities(messages: Sequence[Message]) -> None:
    """Keep what the feed says about each member and the keys created in each org."""
    await runner.run(messages, _decode, WorkerState.apply_activity)
