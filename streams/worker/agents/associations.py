"""App associations → ``associations`` → rules (connectors on personal credentials)."""

from __future__ import annotations

from faust import StreamT

from streams.app import app
from streams.events.records import AppAssociation
from streams.worker.agents import BATCH_SECONDS, BATCH_SIZE, barrier, runner
from streams.worker.batch import decoder
from streams.worker.channels import app_associations_topic
from streams.worker.state import WorkerState


@app.agent(app_associations_topic, concurrency=1)
async def fold_associations(stream: StreamT) -> None:
    """Record the surfaces and connectors each member uses, with how they were authorised."""
    decode = decoder(AppAssociation)
    async for events in stream.take_events(BATCH_SIZE, within=BATCH_SECONDS):
        await barrier.wait()
        await runner.run(events, decode, WorkerState.apply_association)
