"""Usage deltas → ``usage`` → rules (spend spikes, usage after deprovisioning)."""

from __future__ import annotations

from collections.abc import Sequence

from faust.types import Message

from streams.events.records import UsageDelta
from streams.worker.agents import barrier, batch_agent, runner
from streams.worker.batch import decoder, member_key_of
from streams.worker.channels import usage_deltas_topic
from streams.worker.state import WorkerState

_decode = decoder(UsageDelta, key=member_key_of)


@batch_agent(usage_deltas_topic, ready=barrier.wait)
async def fold_usage_deltas(messages: Sequence[Message]) -> None:
    """Keep the highest revision per member, day and metric family."""
    await runner.run(messages, _decode, WorkerState.apply_usage_delta)
