"""Invitation events → PERSONAL_INVITE alerts, kept under ``org:invite_id``."""

from __future__ import annotations

from collections.abc import Sequence

from faust.types import Message

from streams.events.keys import item_key
from streams.events.records import InviteEvent
from streams.worker.agents.batching import batch_agent
from streams.worker.batch import decoder
from streams.worker.context import WorkerContext
from streams.worker.state import WorkerState


def _invite_key(event: InviteEvent) -> bytes:
    return item_key(event.org_id, event.invite_id)


def register(context: WorkerContext) -> None:
    """Each invitation as it is now: pending to a personal address, or not."""
    decode = decoder(InviteEvent, key=_invite_key)

    async def handle(messages: Sequence[Message]) -> None:
        await context.runner.run(messages, decode, WorkerState.apply_invite)

    batch_agent(context, context.channels.invites, handle)
