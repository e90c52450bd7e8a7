"""Facts the Activity Feed tells about a member and about an organisation's keys (pure folds).

``fold_member`` folds a member's ``Activity`` events (``claude.activities``, key ``org:user``)
into ``MemberFacts``: the last login and its method, the connectors they connected (and
whether with managed auth), and who last changed their role and when. ``fold_keys`` folds an
organisation's key activities into ``KeyFacts``: each API or Admin key created, by whom, and
when it was deleted. Both are idempotent (an activity folded twice changes nothing); a late
login or role change older than the one known does not replace it. A key deletion whose
creation was never seen is ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from streams.events.records import Activity, ActivityActor, ChangeActor

LOGIN_TYPES = {
    "sso_login_succeeded": "sso",
    "magic_link_login_succeeded": "magic_link",
    "social_login_succeeded": "social",
}
KEY_CREATED = {
    "api_key_created": "api_key_id",
    "admin_api_key_created": "admin_api_key_id",
    "platform_api_key_created": "api_key_id",
}
KEY_DELETED = {
    "scoped_api_key_deleted": "api_key_id",
    "admin_api_key_deleted": "admin_api_key_id",
}


ACTOR_ID_FIELDS = (
    "user_id",
    "admin_api_key_id",
    "api_key_id",
    "service_account_id",
    "directory_id",
)
"""Where an actor of each kind carries its id (a kind has at most one of these)."""


def change_actor(actor: ActivityActor | Any) -> ChangeActor:
    """Who acted, as user events and facts name them: kind, id, member e-mail.

    Takes the feed row's actor (client model) or the ``ActivityActor`` record: same fields.
    """
    identifier = next((value for name in ACTOR_ID_FIELDS if (value := getattr(actor, name))), None)
    return ChangeActor(actor.type, identifier, actor.email_address)


@dataclass(frozen=True, slots=True)
class ConnectorLink:
    """A connector (MCP server) a member connected; ``disconnected_at`` once they left it."""

    server_id: str
    name: str | None
    connected_at: datetime
    managed_auth: bool = False
    disconnected_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RoleChange:
    """The last change of a member's role: before, after, by whom, when."""

    previous: str | None
    current: str | None
    by: ChangeActor
    at: datetime


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """What the feed said about one member."""

    last_login_at: datetime | None = None
    last_login_method: str | None = None
    connectors: dict[str, ConnectorLink] = field(default_factory=dict)
    role_change: RoleChange | None = None
    seen: frozenset[str] = frozenset()
    """Activity ids already folded (the feed's ids are unique)."""


@dataclass(frozen=True, slots=True)
class KeyCreated:
    """One key created in the organisation."""

    key_id: str
    kind: str
    created_at: datetime
    created_by: ChangeActor
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class KeyFacts:
    """Keys created in one organisation, by key id."""

    keys: dict[str, KeyCreated] = field(default_factory=dict)


def details(activity: Activity) -> dict[str, Any]:
    """The activity's type-specific fields."""
    value = json.loads(activity.details_json)
    return value if isinstance(value, dict) else {}


def fold_member(facts: MemberFacts, activity: Activity) -> MemberFacts:
    """``facts`` with one more of the member's activities folded in."""
    if activity.id in facts.seen:
        return facts
    at, fields = activity.created_at, details(activity)
    facts = replace(facts, seen=facts.seen | {activity.id})
    if activity.type in LOGIN_TYPES and (facts.last_login_at is None or at > facts.last_login_at):
        method = LOGIN_TYPES[activity.type]
        provider = fields.get("provider")
        method = f"{method}:{provider}" if isinstance(provider, str) else method
        return replace(facts, last_login_at=at, last_login_method=method)
    server = fields.get("mcp_server_id")
    if isinstance(server, str) and activity.type.startswith(
        ("integration_user_", "mcp_server_managed_auth_token_exchanged")
    ):
        return replace(
            facts, connectors=_fold_connector(facts.connectors, activity.type, server, fields, at)
        )
    if activity.type == "claude_user_role_updated" and (
        facts.role_change is None or at >= facts.role_change.at
    ):
        change = RoleChange(
            fields.get("previous_role"),
            fields.get("current_role"),
            change_actor(activity.actor),
            at,
        )
        return replace(facts, role_change=change)
    return facts


def _fold_connector(
    links: dict[str, ConnectorLink], kind: str, server: str, fields: dict[str, Any], at: datetime
) -> dict[str, ConnectorLink]:
    link = links.get(server)
    name = fields.get("mcp_server_name") if isinstance(fields.get("mcp_server_name"), str) else None
    if kind == "integration_user_connected":
        if link is None or (link.disconnected_at is not None and at > link.disconnected_at):
            link = ConnectorLink(server, name, at, managed_auth=bool(link and link.managed_auth))
    elif kind == "integration_user_disconnected":
        if link is None or at >= link.connected_at:
            link = replace(link or ConnectorLink(server, name, at), disconnected_at=at)
    elif fields.get("outcome", "success") == "success":
        link = replace(link or ConnectorLink(server, name, at), managed_auth=True)
    return {**links, server: link}


def fold_keys(facts: KeyFacts, activity: Activity) -> KeyFacts:
    """``facts`` with one more key activity of the organisation folded in."""
    fields = details(activity)
    if activity.type in KEY_CREATED:
        key_id = fields.get(KEY_CREATED[activity.type])
        if not isinstance(key_id, str) or key_id in facts.keys:
            return facts
        created = KeyCreated(
            key_id,
            activity.type.removesuffix("_created"),
            activity.created_at,
            change_actor(activity.actor),
        )
        return KeyFacts({**facts.keys, key_id: created})
    if activity.type in KEY_DELETED:
        key_id = fields.get(KEY_DELETED[activity.type])
        key = facts.keys.get(key_id) if isinstance(key_id, str) else None
        if key is None or key.deleted_at is not None:
            return facts
        return KeyFacts({**facts.keys, key.key_id: replace(key, deleted_at=activity.created_at)})
    return facts
