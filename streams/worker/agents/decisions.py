"""Triage decisions → ``decisions`` (the latest per alert; see ``streams.worker.decisions``)."""

from __future__ import annotations

from faust import StreamT

from streams.events.records import AlertDecision
from streams.worker.agents.batching import BATCH_SECONDS, BATCH_SIZE, messages_of
from streams.worker.batch import decoder
from streams.worker.context import WorkerContext
from streams.worker.state import WorkerState


def alert_key_of(decision: AlertDecision) -> bytes:
    """The Kafka key of a decision: its alert id."""
    return decision.alert_id.encode()


def register(context: WorkerContext) -> None:
    """The agent that keeps each alert's latest triage decision."""
    decode = decoder(AlertDecision, key=alert_key_of)

    async def fold_alert_decisions(stream: StreamT) -> None:
        async for events in stream.take_events(BATCH_SIZE, within=BATCH_SECONDS):
            await context.runner.run(messages_of(events), decode, WorkerState.apply_decision)

    context.app.agent(context.channels.alert_decisions,
                      name=f"{__name__}.fold_alert_decisions",
                      concurrency=1)(fold_alert_decisions)
