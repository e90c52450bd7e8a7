"""Connector status changes → ``status``."""

from __future__ import annotations

from faust import StreamT

from streams.app import app
from streams.events.records import ConnectorStatus
from streams.worker.agents import BATCH_SECONDS, BATCH_SIZE, messages_of, runner
from streams.worker.batch import decoder
from streams.worker.channels import connector_status_topic
from streams.worker.state import WorkerState


@app.agent(connector_status_topic, concurrency=1)
async def fold_connector_status(stream: StreamT) -> None:
    """Keep each connector's latest status."""
    decode = decoder(ConnectorStatus)
    async for events in stream.take_events(BATCH_SIZE, within=BATCH_SECONDS):
        await runner.run(messages_of(events), decode, WorkerState.apply_status)
