"""The feed's fast path and its reconciliation with roster snapshots (pure; no I/O).

Membership activities become user events within one feed cycle, with the actor who made the
change (``source`` ACTIVITY_FEED):

* ``claude_user_role_updated``: ``previous_role`` null → ADDED, ``current_role`` null →
  REMOVED, both set → UPDATED (role);
* ``org_user_deleted`` (``deleted_user_id``), ``org_user_left`` (the actor), ``scim_user_deleted``
  → REMOVED. A removal in the feed is an explicit signal, like a deleted account.

A change that would change nothing (an ADDED for a current member, a REMOVED for someone who
is not one) emits nothing, so the feed and the roster never announce a change twice. Each
change the feed made waits in ``pending`` for the next complete roster snapshot, which either
**confirms** it (the roster's image replaces the feed's, silently) or **contradicts** it (the
snapshot wins: the roster diff emits the correction). Roster changes the feed never reported
are counted **snapshot-only**. Activities older than ``membership_from`` (the baseline) are
history only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from streams.client.activities import Activity as FeedRow
from streams.events.activity_facts import change_actor
from streams.events.records import ChangeActor, Source, UserEvent, UserImage, UserOp
from streams.poller.diff import avro_time, image_of, user_event
from streams.poller.snapshot import PollContext, RosterSnapshot

REMOVAL_TYPES = {
    "org_user_deleted": "deleted_user_id",
    "scim_user_deleted": "user_id",
}


@dataclass(frozen=True, slots=True)
class MembershipChange:
    """What one membership activity says happened to one member."""

    op: UserOp
    user_id: str
    email: str | None
    role: str | None
    actor: ChangeActor
    at: datetime


@dataclass
class Reconciliation:
    """Counters of how roster snapshots judged the feed (kept across restarts)."""

    confirmed: int = 0
    contradicted: int = 0
    snapshot_only: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "confirmed": self.confirmed,
            "contradicted": self.contradicted,
            "snapshot_only": self.snapshot_only,
        }


@dataclass
class FastPath:
    """The user events of one feed read and the members and pending changes after it."""

    events: list[UserEvent] = field(default_factory=list)
    members: dict[str, UserImage] = field(default_factory=dict)
    pending: dict[str, UserOp] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)


def membership_change(row: FeedRow) -> MembershipChange | None:
    """The membership change an activity records, or None for any other activity."""
    details = row.details
    actor = change_actor(row.actor)
    if row.type == "claude_user_role_updated":
        user_id = details.get("user_id")
        before, after = details.get("previous_role"), details.get("current_role")
        if not isinstance(user_id, str) or (before is None and after is None):
            return None
        op = UserOp.ADDED if before is None else UserOp.REMOVED if after is None else UserOp.UPDATED
        return MembershipChange(op, user_id, row.target_email, after, actor, row.created_at)
    if row.type == "org_user_left" and row.actor.user_id:
        user_id: object = row.actor.user_id
    elif row.type in REMOVAL_TYPES:
        user_id = details.get(REMOVAL_TYPES[row.type])
    else:
        return None
    if not isinstance(user_id, str):
        return None
    return MembershipChange(UserOp.REMOVED, user_id, None, None, actor, row.created_at)


def apply_feed(
    members: Mapping[str, UserImage],
    rows: Iterable[FeedRow],
    pending: Mapping[str, UserOp],
    *,
    context: PollContext,
    membership_from: datetime,
) -> FastPath:
    """The user events the feed's membership activities mean for ``members``, oldest first."""
    result = FastPath(members=dict(members), pending=dict(pending))
    ordered = sorted(rows, key=lambda row: (row.created_at, row.id))
    for change in filter(None, map(membership_change, ordered)):
        if change.at < membership_from:
            continue
        before = result.members.get(change.user_id)
        after = _after(before, change)
        if after == before:
            continue
        op = UserOp.ADDED if before is None else UserOp.REMOVED if after is None else UserOp.UPDATED
        changed = ("role",) if op is UserOp.UPDATED else ()
        result.events.append(
            user_event(context, op, change.user_id, before, after, changed, baseline=False,
                       source=Source.ACTIVITY_FEED, actor=change.actor)
        )
        if after is None:
            del result.members[change.user_id]
        else:
            result.members[change.user_id] = after
        result.pending[change.user_id] = op
        result.touched.add(change.user_id)
    return result


def _after(before: UserImage | None, change: MembershipChange) -> UserImage | None:
    """The member's image after ``change`` (None: not a member, or not known well enough)."""
    if change.op is UserOp.REMOVED:
        return None
    if before is not None:
        return before if change.role is None else replace(before, role=change.role)
    if change.op is UserOp.UPDATED or change.email is None:
        return None  # a role change of someone unknown, or an unnamed member: the roster will tell
    return UserImage(
        id=change.user_id, email=change.email, role=change.role, added_at=avro_time(change.at)
    )


def reconcile(
    members: Mapping[str, UserImage],
    pending: Mapping[str, UserOp],
    roster: RosterSnapshot,
    counters: Reconciliation,
) -> tuple[dict[str, UserImage], dict[str, UserOp]]:
    """Judge the feed's pending changes by a complete roster listing.

    Returns the members to diff the roster against (a confirmed member's image becomes the
    roster's, so confirming emits nothing) and the changes still pending. A contradicted change
    keeps the feed's image: the roster diff then emits the correction.
    """
    if not (roster.complete and roster.source is Source.ROSTER):
        return dict(members), dict(pending)
    adjusted = dict(members)
    for user_id, op in pending.items():
        listed = roster.users.get(user_id)
        if op is UserOp.REMOVED:
            agrees = listed is None
        else:
            known = members.get(user_id)
            agrees = (
                listed is not None
                and known is not None
                and (listed.role is None or listed.role == known.role)
            )
            if agrees and listed is not None:
                adjusted[user_id] = image_of(listed)
        if agrees:
            counters.confirmed += 1
        else:
            counters.contradicted += 1
    return adjusted, {}
