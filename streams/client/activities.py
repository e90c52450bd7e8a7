"""Typed rows of the Compliance Activity Feed (``GET /v1/compliance/activities``).

An activity has five common fields (``id``, ``created_at``, ``type``, ``organization_id``,
``organization_uuid``), an ``actor`` (a union on ``actor.type``) and type-specific top-level
fields. The common fields and the actor's documented fields are typed; everything else is
kept unchanged in ``details`` (and the actor's unknown fields in ``Actor.details``), so no
field of any of the several hundred activity types is lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from streams.client.models import Row, RowError, _datetime, _obj, _opt_str, _str

COMMON_FIELDS = frozenset({"id", "created_at", "type", "organization_id", "organization_uuid"})

TARGET_USER_FIELDS = ("user_id", "deleted_user_id")
"""Type-specific fields naming the member an activity concerns, in order of preference."""
TARGET_EMAIL_FIELDS = ("user_email", "deleted_user_email")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it: ``type`` is ``user_actor``, ``api_actor``, ``scim_directory_sync_actor``, ..."""

    type: str
    user_id: str | None = None
    email_address: str | None = None
    ip_address: str | None = None
    user_agent: str | None = None
    api_key_id: str | None = None
    admin_api_key_id: str | None = None
    service_account_id: str | None = None
    directory_id: str | None = None
    idp_connection_type: str | None = None
    service: str | None = None
    issuer: str | None = None
    subject: str | None = None
    unauthenticated_email_address: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    """Fields of the actor not typed above (``workos_event_id``, ``provider``, ...)."""

    @classmethod
    def from_api(cls, row: Row) -> Actor:
        typed = {name: _opt_str(row, name) for name in ACTOR_FIELDS}
        details = {k: v for k, v in row.items() if k != "type" and k not in ACTOR_FIELDS}
        return cls(type=_str(row, "type"), details=details, **typed)


ACTOR_FIELDS = tuple(f.name for f in fields(Actor) if f.name not in ("type", "details"))
"""The actor fields typed on ``Actor`` (strings or null); the rest go to ``Actor.details``."""


@dataclass(frozen=True, slots=True)
class Activity:
    """One row of the feed; ``details`` holds its type-specific fields unchanged."""

    id: str
    created_at: datetime
    type: str
    organization_id: str | None
    organization_uuid: str | None
    actor: Actor
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, row: Row) -> Activity:
        if not isinstance(row, Mapping):
            raise RowError(f"expected an object, got {type(row).__name__}")
        return cls(
            id=_str(row, "id"),
            created_at=_datetime(row, "created_at"),
            type=_str(row, "type"),
            organization_id=_opt_str(row, "organization_id"),
            organization_uuid=_opt_str(row, "organization_uuid"),
            actor=Actor.from_api(_obj(row, "actor")),
            details={k: v for k, v in row.items() if k not in COMMON_FIELDS and k != "actor"},
        )

    @property
    def target_user_id(self) -> str | None:
        """The member the activity concerns (``user_id``, ``deleted_user_id``), if any."""
        return _first_text(self.details, TARGET_USER_FIELDS)

    @property
    def target_email(self) -> str | None:
        return _first_text(self.details, TARGET_EMAIL_FIELDS)


def _first_text(details: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    return next(
        (value for name in names if isinstance(value := details.get(name), str) and value), None
    )
