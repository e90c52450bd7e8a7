"""The simulated org's Compliance Activity Feed: what each change records, and how it is served.

Every ``Org.advance`` change is recorded as the activities the real feed would hold, with a
realistic actor: members added through an invite (sent by an admin, accepted by the member),
by SSO/SCIM (``scim_directory_sync_actor``) or by an Admin API key; removed by an admin, by
themselves or by SCIM; role changes by an admin. Each advance also records background
activity: logins (SSO, magic link, social), connectors connected and disconnected (with or
without managed auth), API and Admin keys created and deleted, group membership.

What it recorded is also kept as facts for the ground truth (``risks``, ``keys_truth``):
each member's last sign-in method, whether anyone signed in with SSO, the admin-class role a
member's last role change granted, and each key created (its kind, its creator, whether it
was deleted). The truth reads these facts, never the rows.

Visibility: a row is served ``feed_lag`` wall-clock seconds after it was recorded, and a few
rows later still (``late_fraction``), so later rows can be seen before earlier ones. A row is
always visible once the simulated clock is a minute past its ``created_at`` (the documented
"queryable within 1 minute"). ``GET /_sim/activities`` returns every row, visible or not.
"""

from __future__ import annotations

import bisect
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from streams.simulator.handlers import Query, SimError, _moment, bad_request
from streams.simulator.org import (
    ADMIN_ROLES,
    CONNECTORS,
    Churn,
    Org,
    Person,
    rfc3339,
    tagged_id,
)

VISIBLE_WITHIN = timedelta(minutes=1)
LATE_FACTOR = 3
"""Late rows show this many times ``feed_lag`` after they were recorded."""
DEFAULT_LIMIT, MAX_LIMIT = 100, 5000
BYPASS_LOGINS = ("magic_link", "social")
"""Sign-in methods that do not go through the organisation's SSO."""
_USER_AGENT = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15"
_SCIM_KINDS = ("OktaSCIMV2", "AzureSCIMV2")
_GROUPS = ("grp_01Engineering", "grp_01Sales", "grp_01Finance")


@dataclass(frozen=True, slots=True)
class Recorded:
    """One activity row with when it becomes visible (wall clock) and its sort key."""

    row: dict[str, Any]
    created_at: datetime
    visible_at: float

    @property
    def key(self) -> tuple[datetime, str]:
        return self.created_at, self.row["id"]


@dataclass(slots=True)
class KeyRecord:
    """A key whose creation the feed recorded: its kind (the activity type without
    ``_created``), who created it, and whether the feed recorded its deletion. ``console``:
    a key of the org's key inventory (``Org.api_keys``), whose status lives there."""

    kind: str
    creator: Person
    console: bool = False
    deleted: bool = False


@dataclass
class ActivityFeed:
    """The org's activity log and the ``/v1/compliance/activities`` handler."""

    org: Org
    lag: float = 0.0
    late_fraction: float = 0.1
    clock: Callable[[], float] = time.monotonic
    rows: list[Recorded] = field(default_factory=list)
    _by_id: dict[str, Recorded] = field(default_factory=dict)
    _recorded: int = 0
    _admins: list[Person] = field(default_factory=list)
    """The org's admins as of the advance being recorded (who performs admin activities)."""
    uses_sso: bool = False
    """True once some member was recorded signing in with SSO."""
    last_login: dict[str, str] = field(default_factory=dict)
    """Member id → the method of the last sign-in recorded for them."""
    granted: dict[str, str] = field(default_factory=dict)
    """Member id → the admin-class role their last recorded role change granted (absent when
    that change granted none, or the member already had one)."""
    keys: dict[str, KeyRecord] = field(default_factory=dict)
    """Key id → the key whose creation was recorded."""

    # --- recording ------------------------------------------------------------------------

    def record_advance(self, churn: Churn, background: int, rng: random.Random) -> list[dict]:
        """Record the activities of one advance (its churn plus ``background`` others)."""
        members = list(self.org.members())
        self._admins = [person for person in members if person.role in ADMIN_ROLES]
        pending: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        for person in churn.added:
            pending.extend(self._joined(person, rng))
        for person in churn.removed:
            pending.extend(self._left(person, rng))
        for person, before, after in churn.role_changes:
            pending.append(self._role(self._admin_actor(rng), person, before, after))
        pending.extend(self._key_changes(churn.keys, rng))
        for _ in range(background if members else 0):
            pending.extend(self._background(rng.choice(members), rng))
        # Spread over the last 50 s before now, whole seconds (ties are broken by id).
        now, spread = self.org.now, timedelta(seconds=50)
        return [
            self._record(
                kind,
                actor,
                fields,
                (now - spread * (len(pending) - n) / len(pending)).replace(microsecond=0),
                rng,
            )
            for n, (kind, actor, fields) in enumerate(pending)
        ]

    def _record(
        self,
        kind: str,
        actor: dict[str, Any],
        fields: dict[str, Any],
        created_at: datetime,
        rng: random.Random,
    ) -> dict[str, Any]:
        self._recorded += 1
        row = {
            "id": tagged_id("activity_", self.org.key, self._recorded),
            "created_at": rfc3339(created_at),
            "organization_id": tagged_id("org_", self.org.key, "org"),
            "organization_uuid": self.org.id,
            "actor": actor,
            "type": kind,
            **fields,
        }
        late = self.lag and rng.random() < self.late_fraction
        delay = self.lag * (LATE_FACTOR if late else 1)
        entry = Recorded(row, created_at, self.clock() + delay)
        bisect.insort(self.rows, entry, key=lambda item: item.key)
        self._by_id[row["id"]] = entry
        return row

    def _joined(self, person: Person, rng: random.Random) -> list[tuple[str, dict, dict]]:
        how = rng.choice(("invite", "invite", "scim", "scim", "admin_key"))
        role = self._role_change(person, None, person.role)
        if how == "invite":
            admin = self._admin_actor(rng)
            sent = {"invited_email": person.email, "invited_role": person.role}
            invite_id = tagged_id("invite_", self.org.key, person.id)
            me = _user_actor(person, rng)
            return [
                ("org_user_invite_sent", admin, sent),
                ("org_user_invite_accepted", me, {"invite_id": invite_id}),
                ("claude_user_role_updated", me, role),
            ]
        if how == "scim":
            scim = self._scim_actor(rng)
            return [
                ("scim_user_created", scim, {"user_id": person.id}),
                ("claude_user_role_updated", scim, role),
            ]
        return [("claude_user_role_updated", self._admin_key_actor(), role)]

    def _left(self, person: Person, rng: random.Random) -> list[tuple[str, dict, dict]]:
        how = rng.choice(("admin", "admin", "self", "scim"))
        role = self._role_change(person, person.role, None)
        if how == "self":
            return [("org_user_left", _user_actor(person, rng), {"previous_role": person.role})]
        if how == "scim":
            scim = self._scim_actor(rng)
            return [
                ("scim_user_deleted", scim, {"user_id": person.id}),
                ("claude_user_role_updated", scim, role),
            ]
        admin = self._admin_actor(rng)
        deleted = {"deleted_user_id": person.id, "deleted_user_email": person.email}
        return [("org_user_deleted", admin, deleted), ("claude_user_role_updated", admin, role)]

    def _role(
        self, actor: dict[str, Any], person: Person, before: str | None, after: str | None
    ) -> tuple[str, dict, dict]:
        return ("claude_user_role_updated", actor, self._role_change(person, before, after))

    def _role_change(self, person: Person, before: str | None, after: str | None) -> dict[str, Any]:
        """The fields of a role change, noting whether it granted an admin-class role."""
        if after in ADMIN_ROLES and before not in ADMIN_ROLES:
            self.granted[person.id] = after
        else:
            self.granted.pop(person.id, None)
        return {
            "user_id": person.id,
            "user_email": person.email,
            "previous_role": before,
            "current_role": after,
        }

    def _background(self, person: Person, rng: random.Random) -> list[tuple[str, dict, dict]]:
        me = _user_actor(person, rng)
        roll = rng.randrange(6)
        if roll == 0:
            how = rng.choice(("sso", "magic_link", "social"))
            self.last_login[person.id] = how
            self.uses_sso = self.uses_sso or how == "sso"
            fields: dict[str, Any] = {"auth_method": how, "mfa_method": None}
            if how == "social":
                fields["provider"] = rng.choice(("apple", "google", "microsoft"))
            return [(f"{how}_login_succeeded", me, fields)]
        if roll in (1, 2):
            slug, name = rng.choice(CONNECTORS)
            server = {
                "integration_type": "mcp",
                "mcp_server_id": tagged_id("mcpsrv_", self.org.key, slug),
                "mcp_server_name": name or slug,
            }
            kind = "integration_user_connected" if roll == 1 else "integration_user_disconnected"
            rows = [(kind, me, server)]
            if roll == 1 and rng.random() < 0.5:
                exchange = {
                    "mcp_server_id": server["mcp_server_id"],
                    "mcp_server_name": server["mcp_server_name"],
                    "managed_auth_mode": rng.choice(("claude", "sso")),
                    "outcome": "success",
                }
                rows.append(("mcp_server_managed_auth_token_exchanged", me, exchange))
            return rows
        if roll == 3:
            key_id = tagged_id("apikey_", self.org.key, self._recorded, person.id)
            scopes = {"scopes": ["read:members"]}
            kind = rng.choice(("api_key_created", "admin_api_key_created"))
            field_name = "api_key_id" if kind == "api_key_created" else "admin_api_key_id"
            deleted = (
                "scoped_api_key_deleted" if kind == "api_key_created" else ("admin_api_key_deleted")
            )
            rows = [(kind, me, {field_name: key_id, **scopes})]
            self.keys[key_id] = KeyRecord(kind.removesuffix("_created"), person)
            if rng.random() < 0.3:
                rows.append((deleted, me, {field_name: key_id}))
                self.keys[key_id].deleted = True
            return rows
        if roll == 4:
            key_id = tagged_id("apikey_", self.org.key, "platform", self._recorded)
            self.keys[key_id] = KeyRecord("platform_api_key", person)
            return [("platform_api_key_created", me, {"api_key_id": key_id})]
        kind = rng.choice(("group_member_added", "group_member_removed"))
        return [
            (
                kind,
                self._admin_actor(rng),
                {"group_id": rng.choice(_GROUPS), "member_ids": [person.id]},
            )
        ]

    def _key_changes(
        self, keys: dict[str, list[str]], rng: random.Random
    ) -> list[tuple[str, dict, dict]]:
        """Console API keys created by their owner and archived by an admin (the feed
        documents no type for a deleted Console key)."""
        owners = {person.id: person for person in self.org.members()}
        created = set(keys.get("created", ()))
        rows: list[tuple[str, dict, dict]] = []
        for key in self.org.api_keys:
            if key["id"] in created and key["user_id"] in owners:
                owner = owners[key["user_id"]]
                self.keys[key["id"]] = KeyRecord("platform_api_key", owner, console=True)
                rows.append(
                    ("platform_api_key_created", _user_actor(owner, rng), {"api_key_id": key["id"]})
                )
        status = {"type": "status", "previous_value": "active", "current_value": "archived"}
        rows.extend(
            (
                "platform_api_key_updated",
                self._admin_actor(rng),
                {"api_key_id": key_id, "updates": [status]},
            )
            for key_id in keys.get("archived", ())
        )
        return rows

    def _admin_actor(self, rng: random.Random) -> dict[str, Any]:
        return _user_actor(rng.choice(self._admins), rng)

    def _admin_key_actor(self) -> dict[str, Any]:
        return {
            "type": "admin_api_key_actor",
            "admin_api_key_id": tagged_id("apikey_", self.org.key, "admin"),
            "ip_address": "198.51.100.7",
            "user_agent": "anthropic-python/2.17.0",
        }

    def _scim_actor(self, rng: random.Random) -> dict[str, Any]:
        return {
            "type": "scim_directory_sync_actor",
            "directory_id": tagged_id("directory_", self.org.key, "scim"),
            "workos_event_id": tagged_id("event_", self.org.key, self._recorded, rng.random()),
            "idp_connection_type": _SCIM_KINDS[self.org.config.seed % 2],
        }

    # --- ground truth -----------------------------------------------------------------------

    def risks(self, person: Person) -> list[str]:
        """The member alert reasons that hold for ``person`` from what the feed recorded: their
        last sign-in bypassed SSO in an org where members sign in with SSO; their last role
        change granted the admin-class role they still hold."""
        found = []
        if self.uses_sso and self.last_login.get(person.id) in BYPASS_LOGINS:
            found.append("SSO_BYPASS_LOGIN")
        if person.removed_at is None and self.granted.get(person.id) == person.role:
            found.append("PRIVILEGE_GRANTED")
        return found

    def keys_truth(self) -> list[dict[str, Any]]:
        """Every key whose creation was recorded, with the reasons that hold for it: an Admin
        or scoped key still active (ADMIN_CREDENTIAL_CREATED); an active key whose creator was
        removed or is deprovisioned (ORPHANED_CREDENTIAL)."""
        listed = {record["id"]: record["status"] for record in self.org.api_keys}
        truth = []
        for key_id, key in sorted(self.keys.items()):
            active = listed.get(key_id) == "active" if key.console else not key.deleted
            creator = key.creator
            risks = []
            if active and key.kind in ("admin_api_key", "api_key"):
                risks.append("ADMIN_CREDENTIAL_CREATED")
            if active and (creator.removed_at is not None or creator.deprovisioned):
                risks.append("ORPHANED_CREDENTIAL")
            truth.append({"id": key_id, "kind": key.kind, "created_by": creator.id,
                          "active": active, "risks": risks})
        return truth

    # --- serving --------------------------------------------------------------------------

    def visible(self, row: Recorded) -> bool:
        return row.visible_at <= self.clock() or row.created_at + VISIBLE_WITHIN <= self.org.now

    def truth(self) -> list[dict[str, Any]]:
        """``GET /_sim/activities``: every activity recorded, oldest first, visible or not."""
        return [row.row for row in self.rows]

    def activities(self, query: Query) -> dict[str, Any]:
        """``GET /v1/compliance/activities`` with its documented filters, cursors and order."""
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise bad_request(f"order: expected 'asc' or 'desc', got {order!r}")
        limit = _limit(query.get("limit"))
        types = set(query.getall("activity_types[]", []))
        excluded = set(query.getall("exclude_activity_types[]", []))
        if types and excluded:
            raise bad_request("activity_types[] and exclude_activity_types[] cannot be combined")
        actors = set(query.getall("actor_ids[]", [])) | set(query.getall("user_ids[]", []))
        orgs = set(query.getall("organization_ids[]", []))
        bounds = [(op, _timestamp(query, f"created_at.{op}")) for op in ("gte", "gt", "lte", "lt")]
        after, before = query.get("after_id"), query.get("before_id")
        if after and before:
            raise bad_request("Only one of `after_id` and `before_id` may be given")
        rows = [
            r
            for r in self.rows
            if self.visible(r) and _matches(r, types, excluded, actors, orgs, bounds)
        ]
        if order == "desc":
            rows.reverse()
        cursor = after or before
        if cursor:
            anchor = self._by_id.get(cursor)
            if anchor is None:
                name = "after_id" if after else "before_id"
                raise bad_request(f'Invalid `{name}`. No activity found for `{name}` "{cursor}"')
            newer = (order == "asc") == bool(after)
            rows = [r for r in rows if (r.key > anchor.key if newer else r.key < anchor.key)]
            if before:
                rows = rows[-limit:]
        page = rows[:limit]
        data = [r.row for r in page]
        return {
            "data": data,
            "has_more": len(rows) > len(page),
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }


def _user_actor(person: Person, rng: random.Random) -> dict[str, Any]:
    return {
        "type": "user_actor",
        "user_id": person.id,
        "email_address": person.email,
        "ip_address": f"192.0.2.{rng.randrange(1, 255)}",
        "user_agent": _USER_AGENT,
    }


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.lstrip("-").isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise bad_request(
            f"The limit parameter must be between 1 and {MAX_LIMIT}, inclusive. Got {raw}."
        )
    return int(raw)


def _timestamp(query: Query, name: str) -> datetime | None:
    """A ``created_at.*`` filter; anything but a full RFC 3339 timestamp is the documented 400."""
    raw = query.get(name)
    try:
        if raw is not None and "T" not in raw:
            raise bad_request(raw)
        return _moment(query, name)
    except SimError:
        raise bad_request(
            f"The `{name}` parameter contains an invalid timestamp format. Timestamps must be "
            f'provided in RFC 3339 format e.g., "2024-03-01T00:00:00Z". Got "{raw}".'
        ) from None


def _matches(
    row: Recorded,
    types: set[str],
    excluded: set[str],
    actors: set[str],
    orgs: set[str],
    bounds: Iterable[tuple[str, datetime | None]],
) -> bool:
    data = row.row
    if (types and data["type"] not in types) or data["type"] in excluded:
        return False
    if actors and data["actor"].get("user_id") not in actors:
        return False
    if orgs and not orgs & {data["organization_id"], data["organization_uuid"]}:
        return False
    at = row.created_at
    checks = {"gte": at.__ge__, "gt": at.__gt__, "lte": at.__le__, "lt": at.__lt__}
    return all(bound is None or checks[op](bound) for op, bound in bounds)


def feed_disabled(status: int) -> SimError:
    """The answer of an org whose Compliance API is not enabled (403 or 404 variant)."""
    if status == 404:
        return SimError(404, "not_found_error", "Not found")
    return SimError(
        403,
        "permission_error",
        "The Compliance API is not enabled for this organization.",
    )
