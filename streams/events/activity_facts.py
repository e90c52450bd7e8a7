"""Facts the Activity Feed tells about a member and about an organisation's keys (pure folds).

``fold_member`` folds a member's ``Activity`` events (``claude.activities``, key ``org:user``)
into ``MemberFacts``: the last login and its method, the connectors they connected (and
whether with managed auth), and who last changed their role and when. ``fold_keys`` folds an
organisation's key activities into ``KeyFacts``: each API or Admin key created, by whom, and
when it was deleted. Both are idempotent (an activity folded twice changes nothing); a late
login or role change older than the one known does not replace it. A key deletion can come
before its creation (rows of the same second, or a creation row shown late): the deletion is
kept aside (``KeyFacts.deleted``), and the key is known as deleted once its creation comes. A
deletion whose creation never comes to these facts (someone else's key) names no key created.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from streams.events.keys import org_key, user_key
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
"""Deletion type → the field naming the key."""


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
    """Keys created in one organisation, by key id, and the deletions folded before their
    key's creation (key id → when it was deleted)."""

    keys: dict[str, KeyCreated] = field(default_factory=dict)
    deleted: dict[str, datetime] = field(default_factory=dict)


def details(activity: Activity) -> dict[str, Any]:
    """The activity's type-specific fields."""
    value = json.loads(activity.details_json)
    return value if isinstance(value, dict) else {}


def fold_member(facts: MemberFacts, activity: Activity) -> MemberFacts:
    """``facts`` with one more of the member's activities folded in."""
    at, fields = activity.created_at, details(activity)
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
        if not isinstance(key_id, str):
            return facts
        known = facts.keys.get(key_id)
        created = KeyCreated(
            key_id,
            activity.type.removesuffix("_created"),
            activity.created_at,
            change_actor(activity.actor),
            facts.deleted.get(key_id) if known is None else known.deleted_at,
        )
        if created == known:
            return facts
        deleted = {other: at for other, at in facts.deleted.items() if other != key_id}
        return KeyFacts({**facts.keys, key_id: created}, deleted)
    if activity.type in KEY_DELETED:
        key_id = fields.get(KEY_DELETED[activity.type])
        if not isinstance(key_id, str) or key_id in facts.deleted:
            return facts
        key = facts.keys.get(key_id)
        if key is None:
            return KeyFacts(facts.keys, {**facts.deleted, key_id: activity.created_at})
        if key.deleted_at is not None:
            return facts
        return KeyFacts({**facts.keys, key_id: replace(key, deleted_at=activity.created_at)},
                        facts.deleted)
    return facts


def activity_key(record: Activity) -> bytes:
    """``org:user`` of the member it concerns: the target, else a member actor, else ``org``."""
    member = record.target_user_id or record.actor.user_id
    return user_key(record.org_id, member) if member else org_key(record.org_id)


# --- rows (JSON) for a table keyed like the activities topic --------------------------------


def facts_row(member: MemberFacts, keys: KeyFacts) -> dict[str, Any]:
    """The JSON row of one key of the activities topic: the member's facts and the keys they
    (or, for an ``org`` key, a non-member actor) created."""
    return {
        "last_login_at": _iso(member.last_login_at),
        "last_login_method": member.last_login_method,
        "connectors": {
            server: {
                **_plain(link),
                "connected_at": _iso(link.connected_at),
                "disconnected_at": _iso(link.disconnected_at),
            }
            for server, link in sorted(member.connectors.items())
        },
        "role_change": member.role_change
        and {
            **_plain(member.role_change),
            "by": _plain(member.role_change.by),
            "at": _iso(member.role_change.at),
        },
        "keys_created": {
            key_id: {
                **_plain(key),
                "created_by": _plain(key.created_by),
                "created_at": _iso(key.created_at),
                "deleted_at": _iso(key.deleted_at),
            }
            for key_id, key in sorted(keys.keys.items())
        },
        "keys_deleted": {key_id: _iso(at) for key_id, at in sorted(keys.deleted.items())},
    }


def facts_of(row: dict[str, Any] | None) -> tuple[MemberFacts, KeyFacts]:
    """The facts a row holds (empty facts for no row)."""
    if not row:
        return MemberFacts(), KeyFacts()
    change = row["role_change"]
    member = MemberFacts(
        last_login_at=_time(row["last_login_at"]),
        last_login_method=row["last_login_method"],
        connectors={
            server: ConnectorLink(
                server,
                link["name"],
                _moment(link["connected_at"]),
                link["managed_auth"],
                _time(link["disconnected_at"]),
            )
            for server, link in row["connectors"].items()
        },
        role_change=change
        and RoleChange(
            change["previous"],
            change["current"],
            ChangeActor(**change["by"]),
            _moment(change["at"]),
        ),
    )
    keys = KeyFacts(
        {
            key_id: KeyCreated(
                key_id,
                key["kind"],
                _moment(key["created_at"]),
                ChangeActor(**key["created_by"]),
                _time(key["deleted_at"]),
            )
            for key_id, key in row["keys_created"].items()
        },
        {key_id: _moment(at) for key_id, at in row.get("keys_deleted", {}).items()},
    )
    return member, keys


def _plain(item: Any) -> dict[str, Any]:
    return {name: getattr(item, name) for name in item.__slots__}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)
