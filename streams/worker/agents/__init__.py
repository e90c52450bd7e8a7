"""The input topics' handlers, one at a time per topic: take a batch, run it through the runner.

The per-member topics (user events, usage deltas, associations; ``members``) are read in
batches by ``batch_agent`` handlers (``streams.worker.intake``); the low-volume ones
(``directory``, ``status``) are Faust agents at concurrency 1 that take
``BATCH_SIZE`` events or whatever arrived within ``BATCH_SECONDS``. Every batch goes through
the context's shared ``BatchRunner``; the per-member handlers and the activities (both
evaluated against the directory) wait for the context's ``barrier`` (see
``streams.worker.barrier``). ``register_agents`` registers them all on the
context's app, and with them the webhook delivery (``webhook``), a task with its own
consumer group.
"""

from __future__ import annotations

from streams.worker.agents import (
    activities,
    decisions,
    directory,
    invites,
    members,
    status,
    webhook,
)
from streams.worker.context import WorkerContext


def register_agents(context: WorkerContext) -> None:
    """Register every input handler (and the webhook when configured) on the context's app."""
    members.register(context)
    directory.register(context)
    status.register(context)
    decisions.register(context)
    activities.register(context)
    invites.register(context)
    webhook.register(context)
