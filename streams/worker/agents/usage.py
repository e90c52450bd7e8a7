"""Usage deltas → ``usage`` → rules (spend spikes, usage after deprovisioning)."""

from __future__ import annotations

from faust import StreamT

from streams.app import app
from streams.events.records import UsageDelta
from streams.worker.agents import BATCH_SECONDS, BATCH_SIZE, barrier, runner
from streams.worker.batch import decoder
from streams.worker.channels import usage_deltas_topic
from streams.worker.state import WorkerState


@app.agent(usage_deltas_topic, concurrency=1)
async def fold_usage_deltas(stream: StreamT) -> None:
    """Keep the highest revision per member, day and metric family."""
    decode = decoder(UsageDelta)
    async for events in stream.take_events(BATCH_SIZE, within=BATCH_SECONDS):
        await barrier.wait()
        await runner.run(events, decode, WorkerState.apply_usage_delta)
