"""Connector status changes → ``status``."""

from __future__ import annotations

from faust import StreamT

from streams.events.records import ConnectorStatus
from streams.worker.agents.batching import BATCH_SECONDS, BATCH_SIZE, messages_of
from streams.worker.batch import decoder
from streams.worker.context import WorkerContext
from streams.worker.state import WorkerState


def register(context: WorkerContext) -> None:
    """The agent that keeps each connector's latest status."""
    decode = decoder(ConnectorStatus)

    async def fold_connector_status(stream: StreamT) -> None:
        async for events in stream.take_events(BATCH_SIZE, within=BATCH_SECONDS):
            await context.runner.run(messages_of(events), decode, WorkerState.apply_status)

    context.app.agent(context.channels.connector_status,
                      name=f"{__name__}.fold_connector_status",
                      concurrency=1)(fold_connector_status)
