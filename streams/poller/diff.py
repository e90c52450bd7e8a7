"""Pure diffs: (last committed state, one poll's observations) → events + the new state.

Roster rules (design.md, "Correctness rules"):

1. Only a complete snapshot removes anyone; an incomplete one still adds and updates.
2. From a ROSTER snapshot, members absent from a complete listing are removed; from an
   ANALYTICS snapshot only ids the API flagged ``deleted`` are (never absence).
3. A drop by absence larger than ``guard_fraction`` of the previous roster is held: those
   members stay, marked pending, and are removed only if the next complete listing still
   lacks them (members that reappear leave the pending set). Explicit deletions are not held.
4. Changes are detected on id, e-mail, name, role, workspaces (id → workspace role), groups
   (id → group name) and added_at. E-mails compare case-insensitively: a change of case alone
   is no change and the first spelling is kept (sources disagree on case; an address is one
   identity). A ``None`` in the snapshot means "not reported" and keeps the known value.
5. During the baseline (``baseline=True``: no complete roster committed yet) new members are
   ``SNAPSHOT`` and every event carries ``baseline=True``.

Usage: per (user, day, family) the new totals are the observed values (a metric that is no
longer reported counts as 0); the delta is new minus last committed, unchanged metrics left
out; nothing is emitted when nothing changed; each emission bumps the revision. So the deltas
of a key always sum to its latest totals.

Associations: the first observation of each (user, kind, name, auth) is emitted once, with
the earliest day seen in the batch.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from streams.events.apply import UsageKey
from streams.events.keys import association_event_id, usage_event_id, user_event_id
from streams.events.records import (
    AppAssociation,
    AppKind,
    AssociationState,
    AuthKind,
    ChangeActor,
    MemberState,
    Source,
    UsageDelta,
    UsageTotalsState,
    UserEvent,
    UserImage,
    UserOp,
)
from streams.poller.snapshot import (
    ObservedAssociation,
    PollContext,
    RosterSnapshot,
    SnapshotUser,
    UsageObservation,
)

AssociationKey = tuple[str, AppKind, str, AuthKind]
"""(user_id, kind, name, auth): one association of an organisation."""


@dataclass(frozen=True, slots=True)
class RosterDiff:
    """The user events to publish and the roster state to commit with them."""

    events: tuple[UserEvent, ...]
    members: dict[str, UserImage]
    """The whole new roster (the previous one with the changes applied)."""
    pending_drop: frozenset[str]
    """Members missing from a complete listing whose removal the guard holds."""
    touched: frozenset[str]
    """Ids whose committed state entry changes (image, pending flag, or removal)."""

    def state_changes(self) -> dict[str, MemberState | None]:
        """The member state entries to commit: the new entry, or ``None`` for a tombstone."""
        return {
            user_id: (
                MemberState(self.members[user_id], user_id in self.pending_drop)
                if user_id in self.members
                else None
            )
            for user_id in sorted(self.touched)
        }


@dataclass(frozen=True, slots=True)
class UsageDiff:
    """The changed totals entries to commit, and the usage deltas to publish with them.

    The deltas are derived one at a time from the new and the committed totals (``events``):
    a baseline has one per member, day and family, never all held at once. The observations
    are not kept: each changed series keeps only where it was observed (``origins``).
    """

    totals: dict[UsageKey, UsageTotalsState]
    previous: Mapping[UsageKey, UsageTotalsState]
    origins: Mapping[UsageKey, tuple[Source, str]]
    """Each changed series' source and actor type (one tuple per distinct pair)."""
    context: PollContext
    baseline: bool

    def events(self) -> Iterator[UsageDelta]:
        """One delta per changed series, in the order observed."""
        context = self.context
        for key, new in self.totals.items():
            source, actor_type = self.origins[key]
            old = self.previous.get(key)
            old_totals = old.totals if old is not None else {}
            yield UsageDelta(
                event_id=usage_event_id(context.org_id, new.user_id, new.day, new.family,
                                        new.revision, new.totals),
                org_id=context.org_id,
                user_id=new.user_id,
                email=new.email,
                day=new.day,
                family=new.family,
                delta={
                    name: value - old_totals.get(name, 0)
                    for name, value in new.totals.items()
                    if value != old_totals.get(name, 0)
                },
                totals=new.totals,
                revision=new.revision,
                baseline=self.baseline,
                source=source,
                connector=context.connector,
                poll_id=context.poll_id,
                observed_at=context.observed_at,
                actor_type=actor_type,
            )


@dataclass(frozen=True, slots=True)
class AssociationDiff:
    """The new associations' state entries, and their events (derived one at a time)."""

    known: dict[AssociationKey, AssociationState]
    earliest: dict[AssociationKey, ObservedAssociation]
    """The first observation of each new association."""
    context: PollContext
    baseline: bool

    def events(self) -> Iterator[AppAssociation]:
        context = self.context
        for key, first in self.earliest.items():
            yield AppAssociation(
                event_id=association_event_id(context.org_id, *key),
                org_id=context.org_id,
                user_id=first.user_id,
                email=first.email,
                kind=first.kind,
                name=first.name,
                display_name=first.display_name,
                auth=first.auth,
                first_seen=first.day,
                baseline=self.baseline,
                source=first.source,
                connector=context.connector,
                poll_id=context.poll_id,
                observed_at=context.observed_at,
            )


def diff_roster(
    previous: Mapping[str, UserImage],
    snapshot: RosterSnapshot,
    *,
    context: PollContext,
    guard_fraction: float,
    pending_drop: frozenset[str] = frozenset(),
    baseline: bool = False,
) -> RosterDiff:
    """Events taking ``previous`` to what ``snapshot`` shows, under the rules above.

    ``previous``: the last committed members; ``pending_drop``: the members whose removal the
    guard holds (committed as ``MemberState.pending_removal``); ``baseline``: True until a
    complete roster has been committed (the poller then emits the BASELINE_COMPLETE status).
    """
    if not 0 <= guard_fraction <= 1:
        raise ValueError(f"guard_fraction must be within [0, 1], got {guard_fraction}")
    members = dict(previous)
    events: list[UserEvent] = []
    touched: set[str] = set()
    new_op = UserOp.SNAPSHOT if baseline else UserOp.ADDED

    def emit(op: UserOp, user_id: str, before: UserImage | None, after: UserImage | None,
             changed: tuple[str, ...] = ()) -> None:
        events.append(user_event(context, op, user_id, before, after, changed,
                                 baseline=baseline, source=snapshot.source))

    for user_id, seen in snapshot.users.items():
        if user_id in snapshot.deleted:
            continue
        old = previous.get(user_id)
        if old is None:
            image = image_of(seen)
            emit(new_op, user_id, None, image)
        else:
            image, changed = _merge(old, seen)
            if not changed:
                continue
            emit(UserOp.UPDATED, user_id, old, image, changed)
        members[user_id] = image
        touched.add(user_id)

    removed, pending = plan_removals(previous, snapshot, guard_fraction, pending_drop)
    for user_id in sorted(removed):
        emit(UserOp.REMOVED, user_id, previous[user_id], None)
        del members[user_id]
    flag_changes = (pending ^ pending_drop) & members.keys()
    return RosterDiff(tuple(events), members, pending, frozenset(touched | removed | flag_changes))


def user_event(
    context: PollContext,
    op: UserOp,
    user_id: str,
    before: UserImage | None,
    after: UserImage | None,
    changed: tuple[str, ...] = (),
    *,
    baseline: bool,
    source: Source,
    actor: ChangeActor | None = None,
) -> UserEvent:
    """One user event of a poll cycle (its id is deterministic: see ``user_event_id``)."""
    return UserEvent(
        event_id=user_event_id(context.org_id, user_id, op, context.poll_id, before, after),
        op=op,
        org_id=context.org_id,
        user_id=user_id,
        before=before,
        after=after,
        changed_fields=changed,
        baseline=baseline,
        source=source,
        connector=context.connector,
        poll_id=context.poll_id,
        observed_at=context.observed_at,
        actor=actor,
    )


def plan_removals(
    previous: Mapping[str, UserImage],
    snapshot: RosterSnapshot,
    guard_fraction: float,
    pending_drop: frozenset[str],
) -> tuple[frozenset[str], frozenset[str]]:
    """(members to remove now, members whose removal is held) for one snapshot."""
    present = snapshot.users.keys()
    if not snapshot.complete:
        still_missing = {uid for uid in pending_drop if uid in previous and uid not in present}
        return frozenset(), frozenset(still_missing)
    explicit = {uid for uid in snapshot.deleted if uid in previous}
    absent = (previous.keys() - present) - explicit if snapshot.lists_everyone else set()
    confirmed = absent & pending_drop
    fresh = absent - pending_drop
    if len(fresh) > guard_fraction * len(previous):
        return frozenset(explicit | confirmed), frozenset(fresh)
    return frozenset(explicit | absent), frozenset()


def avro_time(moment: datetime | None) -> datetime | None:
    """``moment`` cut to whole milliseconds, as a ``timestamp-millis`` field stores it.

    Images must survive the Avro round trip unchanged; otherwise a state rebuilt from the
    state topic would differ from the API's value and raise a false update every cycle.
    """
    if moment is None or moment.microsecond % 1000 == 0:
        return moment
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def image_of(seen: SnapshotUser) -> UserImage:
    """The image of a member as a snapshot shows them (a new member's first image)."""
    return UserImage(
        id=seen.id,
        email=seen.email,
        name=seen.name,
        role=seen.role,
        workspaces=dict(seen.workspaces or {}),
        added_at=avro_time(seen.added_at),
        groups=dict(seen.groups or {}),
    )


def _merge(old: UserImage, seen: SnapshotUser) -> tuple[UserImage, tuple[str, ...]]:
    """``old`` updated with what ``seen`` reports, and the changed field names (sorted)."""
    changed: list[str] = []
    added_at = old.added_at
    seen_added_at = avro_time(seen.added_at)
    if seen_added_at is not None and seen_added_at != old.added_at:
        added_at = seen_added_at
        changed.append("added_at")
    email = old.email
    if seen.email != old.email and seen.email.casefold() != old.email.casefold():
        email = seen.email
        changed.append("email")
    groups = old.groups
    if seen.groups is not None and seen.groups != old.groups:
        groups = dict(seen.groups)
        changed.append("groups")
    name = old.name
    if seen.name is not None and seen.name != old.name:
        name = seen.name
        changed.append("name")
    role = old.role
    if seen.role is not None and seen.role != old.role:
        role = seen.role
        changed.append("role")
    workspaces = old.workspaces
    if seen.workspaces is not None and seen.workspaces != old.workspaces:
        workspaces = dict(seen.workspaces)
        changed.append("workspaces")
    if not changed:
        return old, ()
    return UserImage(old.id, email, name, role, workspaces, added_at, groups), tuple(changed)


def diff_usage(
    previous: Mapping[UsageKey, UsageTotalsState],
    observed: Sequence[UsageObservation],
    *,
    context: PollContext,
    baseline: bool = False,
) -> UsageDiff:
    """The new totals of every observed series whose values differ from the committed ones
    (their deltas are derived by ``UsageDiff.events``)."""
    changed: dict[UsageKey, UsageTotalsState] = {}
    origins: dict[UsageKey, tuple[Source, str]] = {}
    distinct: dict[tuple[Source, str], tuple[Source, str]] = {}
    seen: set[UsageKey] = set()
    for observation in observed:
        key = (observation.user_id, observation.day, observation.family)
        if key in seen:
            raise ValueError(f"two observations for one usage series: {key}")
        seen.add(key)
        old = previous.get(key)
        old_totals = old.totals if old is not None else {}
        totals = {
            name: observation.values.get(name, 0)
            for name in sorted(old_totals.keys() | observation.values.keys())
        }
        if all(value == old_totals.get(name, 0) for name, value in totals.items()):
            continue
        revision = old.revision + 1 if old is not None else 1
        email = observation.email if observation.email is not None else (old.email if old else None)
        changed[key] = UsageTotalsState(
            observation.user_id, email, observation.day, observation.family, revision, totals
        )
        origin = (observation.source, observation.actor_type)
        origins[key] = distinct.setdefault(origin, origin)
    return UsageDiff(changed, previous, origins, context, baseline)


def diff_associations(
    known: Container[AssociationKey],
    observed: Iterable[ObservedAssociation],
    *,
    context: PollContext,
    baseline: bool = False,
) -> AssociationDiff:
    """An ``AppAssociation`` for each (user, kind, name, auth) not known before."""
    earliest: dict[AssociationKey, ObservedAssociation] = {}
    for observation in observed:
        key = (observation.user_id, observation.kind, observation.name, observation.auth)
        if key in known:
            continue
        first = earliest.get(key)
        if first is None or observation.day < first.day:
            earliest[key] = observation
    new = {
        key: AssociationState(first.user_id, first.kind, first.name, first.auth, first.day)
        for key, first in earliest.items()
    }
    return AssociationDiff(new, earliest, context, baseline)

