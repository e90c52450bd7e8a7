"""The API key inventory as change events (pure; no I/O).

A Console organisation's keys are listed with the roster. Compared with the committed images,
a key seen for the first time is CREATED (``baseline`` when found by the connector's first
complete listing), a key whose image changed is UPDATED (naming the fields), and a key
missing from a **complete** listing is REMOVED. An incomplete listing never removes a key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from streams.client.models import ApiKeyInfo
from streams.events.keys import credential_event_id
from streams.events.records import CredentialEvent, CredentialImage, CredentialOp
from streams.poller.snapshot import PollContext


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


@dataclass(frozen=True, slots=True)
class CredentialDiff:
    """The events to publish and the state entries to set (an image) or delete (None)."""

    events: tuple[CredentialEvent, ...]
    changes: dict[str, CredentialImage | None]


def diff_credentials(
    previous: Mapping[str, CredentialImage],
    observed: Iterable[CredentialImage],
    *,
    complete: bool,
    context: PollContext,
    baseline: bool,
) -> CredentialDiff:
    """Change events of the key inventory since ``previous`` (see the module docstring)."""
    events: list[CredentialEvent] = []
    changes: dict[str, CredentialImage | None] = {}
    seen: set[str] = set()

    def emit(op: CredentialOp, image: CredentialImage, changed: tuple[str, ...] = ()) -> None:
        events.append(
            CredentialEvent(
                event_id=credential_event_id(context.org_id, op, context.poll_id, image),
                op=op,
                org_id=context.org_id,
                key_id=image.id,
                credential=image,
                changed_fields=changed,
                baseline=baseline and op is CredentialOp.CREATED,
                connector=context.connector,
                poll_id=context.poll_id,
                observed_at=context.observed_at,
            )
        )

    for image in observed:
        seen.add(image.id)
        old = previous.get(image.id)
        if old is None:
            emit(CredentialOp.CREATED, image)
        elif old != image:
            changed = tuple(
                item.name
                for item in fields(image)
                if getattr(old, item.name) != getattr(image, item.name)
            )
            emit(CredentialOp.UPDATED, image, changed)
        else:
            continue
        changes[image.id] = image
    if complete:
        for key_id in sorted(previous.keys() - seen):
            emit(CredentialOp.REMOVED, previous[key_id])
            changes[key_id] = None
    return CredentialDiff(tuple(events), changes)
