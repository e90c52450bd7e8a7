"""User events → ``users`` (and the e-mail index) → rules."""

from __future__ import annotations

from faust import StreamT

from streams.app import app
from streams.events.records import UserEvent
from streams.worker.agents import BATCH_SECONDS, BATCH_SIZE, barrier, runner
from streams.worker.batch import decoder
from streams.worker.channels import user_events_topic
from streams.worker.state import WorkerState


@app.agent(user_events_topic, concurrency=1)
async def fold_user_events(stream: StreamT) -> None:
    """Apply member SNAPSHOT / ADDED / UPDATED / REMOVED events."""
    decode = decoder(UserEvent)
    async for events in stream.take_events(BATCH_SIZE, within=BATCH_SECONDS):
        await barrier.wait()
        await runner.run(events, decode, WorkerState.apply_user_event)
