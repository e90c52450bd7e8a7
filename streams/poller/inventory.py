"""Inventories as change events (pure; no I/O): the API keys and the invitations of an org.

Compared with the committed images, an item seen for the first time is CREATED (``baseline``
when found by the connector's first complete listing of that inventory), an item whose image
changed is UPDATED (naming the fields), and an item missing from a **complete** listing is
REMOVED. An incomplete listing never removes anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Generic, TypeVar

from streams.client.models import ApiKeyInfo, Invite
from streams.events.keys import inventory_event_id
from streams.events.records import (
    CredentialEvent,
    CredentialImage,
    InventoryOp,
    InviteEvent,
    InviteImage,
)
from streams.poller.snapshot import PollContext

I = TypeVar("I", CredentialImage, InviteImage)  # noqa: E741
E = TypeVar("E", CredentialEvent, InviteEvent)


@dataclass(frozen=True, slots=True)
class InventoryDiff(Generic[I, E]):
    """The events to publish and the state entries to set (an image) or delete (None)."""

    events: tuple[E, ...]
    changes: dict[str, I | None]


def diff_inventory(
    previous: Mapping[str, I],
    observed: Iterable[I],
    *,
    complete: bool,
    event: Callable[[InventoryOp, I, tuple[str, ...]], E],
) -> InventoryDiff[I, E]:
    """Change events of one inventory since ``previous`` (see the module docstring)."""
    events: list[E] = []
    changes: dict[str, I | None] = {}
    seen: set[str] = set()
    for image in observed:
        seen.add(image.id)
        old = previous.get(image.id)
        if old is None:
            events.append(event(InventoryOp.CREATED, image, ()))
        elif old != image:
            changed = tuple(
                item.name
                for item in fields(image)
                if getattr(old, item.name) != getattr(image, item.name)
            )
            events.append(event(InventoryOp.UPDATED, image, changed))
        else:
            continue
        changes[image.id] = image
    if complete:
        for item_id in sorted(previous.keys() - seen):
            events.append(event(InventoryOp.REMOVED, previous[item_id], ()))
            changes[item_id] = None
    return InventoryDiff(tuple(events), changes)


def credential_image(key: ApiKeyInfo) -> CredentialImage:
    """What the connector keeps of one key (its metadata; the API never returns the secret)."""
    return CredentialImage(
        id=key.id,
        name=key.name,
        status=key.status,
        created_at=key.created_at,
        scope=key.scope,
        workspace_id=key.workspace_id,
        principal_type=key.principal_type,
        principal_id=key.principal_id,
        created_by_type=key.created_by_type,
        created_by_id=key.created_by_id,
        partial_key_hint=key.partial_key_hint,
    )


def invite_image(invite: Invite) -> InviteImage:
    return InviteImage(
        id=invite.id,
        email=invite.email,
        role=invite.role,
        status=invite.status,
        invited_at=invite.invited_at,
        expires_at=invite.expires_at,
        accepted_at=invite.accepted_at,
    )


def _common(context: PollContext, op: InventoryOp, baseline: bool) -> dict[str, Any]:
    return {
        "org_id": context.org_id,
        "baseline": baseline and op is InventoryOp.CREATED,
        "connector": context.connector,
        "poll_id": context.poll_id,
        "observed_at": context.observed_at,
    }


def diff_credentials(
    previous: Mapping[str, CredentialImage],
    observed: Iterable[CredentialImage],
    *,
    complete: bool,
    context: PollContext,
    baseline: bool,
) -> InventoryDiff[CredentialImage, CredentialEvent]:
    """The API key inventory's change events."""

    def event(op: InventoryOp, image: CredentialImage, changed: tuple[str, ...]) -> CredentialEvent:
        return CredentialEvent(
            event_id=inventory_event_id(context.org_id, op, context.poll_id, image),
            op=op,
            key_id=image.id,
            credential=image,
            changed_fields=changed,
            **_common(context, op, baseline),
        )

    return diff_inventory(previous, observed, complete=complete, event=event)


def diff_invites(
    previous: Mapping[str, InviteImage],
    observed: Iterable[InviteImage],
    *,
    complete: bool,
    context: PollContext,
    baseline: bool,
) -> InventoryDiff[InviteImage, InviteEvent]:
    """The invitations' change events (an invite accepted or expired is UPDATED)."""

    def event(op: InventoryOp, image: InviteImage, changed: tuple[str, ...]) -> InviteEvent:
        return InviteEvent(
            event_id=inventory_event_id(context.org_id, op, context.poll_id, image),
            op=op,
            invite_id=image.id,
            invite=image,
            changed_fields=changed,
            **_common(context, op, baseline),
        )

    return diff_inventory(previous, observed, complete=complete, event=event)
