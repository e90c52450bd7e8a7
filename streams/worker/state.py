"""Pure updates of the worker's tables: one method per input record, returning alert events.

The tables are plain ``MutableMapping[str, row]`` here (Faust tables in the worker, dicts in
tests); the rows are the typed, frozen rows of ``streams.worker.rows`` (their keys are listed
there) and are replaced, never mutated in place, so a Faust table writes its changelog.

Directory tables hold one copy per partition of the per-member topics (the directory agent fans
every record out to each partition), so every partition evaluates its members against its own
copy and stays correct when several workers share the partitions.

Idempotence: user and status events are dropped when their ``event_id`` is among the last
``APPLIED_KEPT`` applied to that key; usage keeps the highest revision per day and family;
associations and directory entries are set-like. Rules are evaluated after every input, also
a duplicate, and ``rules.reconcile`` emits only what differs from the open alerts, so replays
emit nothing new (and re-derive, with the same ids, an alert event that a crash lost). An
alert event already published (``published``) is kept as published, whatever input this
worker happened to apply first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta

from streams.events.activity_facts import activity_key, facts_of, facts_row, fold_keys, fold_member
from streams.events.apply import apply_usage_delta, apply_user_event
from streams.events.records import (
    USER_ACTOR,
    Activity,
    AlertDecision,
    AlertReason,
    AlertState,
    AppAssociation,
    ConnectorStatus,
    DirectoryRecord,
    DirectoryStatus,
    InventoryOp,
    InviteEvent,
    MetricFamily,
    ShadowItAlert,
    UsageDelta,
    UsageTotalsState,
    UserEvent,
    UserImage,
    spend_by_product,
)
from streams.insights import DayUsage, surfaces_by
from streams.worker.dayfold import fold_day, fold_surfaces, surfaces_of, with_day
from streams.worker.rows import (
    MEMBER,
    REMOVED,
    ActivityRow,
    AlertsRow,
    AssociationItem,
    AssociationsRow,
    DecisionRow,
    DirectoryOrgRow,
    DirectoryRow,
    FamilyTotals,
    IdentityRow,
    InviteRow,
    OpenAlert,
    OrgDayRow,
    OrgSignalRow,
    ResolvedAlert,
    SpendLimitRow,
    StatusRow,
    UsageDayRow,
    UsageRow,
    UserRow,
)
from streams.worker.rules import (
    BYPASS_METHODS,
    SPEND_HISTORY_DAYS,
    Cause,
    DirectoryEntry,
    Finding,
    InviteSubject,
    KeySubject,
    Login,
    Policy,
    RoleChange,
    SpendLimitFact,
    Subject,
    canonical_email,
    evaluate,
    evaluate_invite,
    evaluate_key,
    managed_connectors,
    normalize_email,
    personal_connectors,
    reconcile,
    spend_limit_facts,
    spend_of,
)

APPLIED_KEPT = 32
CONNECTOR_SIGNAL = "connector:"
SSO_SIGNAL = "login:sso"
SSO_LOGINS = frozenset({"sso_login_succeeded"})
RESOLVED_KEPT = 20


@dataclass(slots=True)
class Tables:
    """The worker's tables, by name."""

    users: MutableMapping[str, UserRow] = field(default_factory=dict)
    usage: MutableMapping[str, UsageRow] = field(default_factory=dict)
    usage_days: MutableMapping[str, UsageDayRow] = field(default_factory=dict)
    associations: MutableMapping[str, AssociationsRow] = field(default_factory=dict)
    alerts: MutableMapping[str, AlertsRow] = field(default_factory=dict)
    directory: MutableMapping[str, DirectoryRow] = field(default_factory=dict)
    directory_orgs: MutableMapping[str, DirectoryOrgRow] = field(default_factory=dict)
    identities: MutableMapping[str, IdentityRow] = field(default_factory=dict)
    status: MutableMapping[str, StatusRow] = field(default_factory=dict)
    org_signals: MutableMapping[str, OrgSignalRow] = field(default_factory=dict)
    decisions: MutableMapping[str, DecisionRow] = field(default_factory=dict)
    activity: MutableMapping[str, ActivityRow] = field(default_factory=dict)
    org_days: MutableMapping[str, OrgDayRow] = field(default_factory=dict)
    invites: MutableMapping[str, InviteRow] = field(default_factory=dict)
    spend_limits: MutableMapping[str, SpendLimitRow] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> Tables:
        """Plain dicts (tests, benchmarks)."""
        return cls()


@dataclass(frozen=True, slots=True)
class DirectoryChange:
    """One directory record (or its removal) as fanned out to every partition."""

    org_id: str
    email: str
    record: DirectoryRecord | None
    cause_id: str
    observed_at: datetime


def member_key(org_id: str, user_id: str) -> str:
    """Table key of per-member rows (the Kafka key as text)."""
    return f"{org_id}:{user_id}"


def _iso(moment: datetime | date | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _remember(applied: tuple[str, ...], event_id: str) -> tuple[str, ...]:
    return (*applied, event_id)[-APPLIED_KEPT:]


class WorkerState:
    """Applies input records to the tables and evaluates the shadow-IT rules."""

    def __init__(
        self,
        tables: Tables,
        policy: Policy,
        published: Callable[[str], ShadowItAlert | None] = lambda _: None,
    ) -> None:
        self.tables = tables
        self.policy = policy
        self.published = published
        """The alert event already published under an id, if any (it wins over a re-derived
        one: see ``streams.worker.published``)."""

    # --- inputs ---

    def apply_user_event(self, event: UserEvent, partition: int) -> list[ShadowItAlert]:
        """Fold a user event into ``users`` (and the e-mail index), then evaluate the member."""
        key = member_key(event.org_id, event.user_id)
        row = self.tables.users.get(key)
        if row is None or event.event_id not in row.applied:
            members: dict[str, UserImage] = {}
            apply_user_event(members, event)
            image = members.get(event.user_id)
            new_row = self._user_row(row, event, image, partition)
            self._reindex(row, new_row, partition)
            self.tables.users[key] = new_row
        cause = Cause(event.event_id, event.observed_at, event.connector)
        return self.evaluate(event.org_id, event.user_id, partition, cause)

    def apply_usage_delta(self, delta: UsageDelta, partition: int) -> list[ShadowItAlert]:
        """Keep the delta's totals unless a same-or-newer revision is known, then evaluate.

        Rules are evaluated when the delta changes what they read (spend, the newest active
        day) and for a duplicate (a redelivery re-derives an alert event a crash lost).
        """
        if delta.family is MetricFamily.SPEND_LIMIT:
            return self.apply_spend_limit(delta, partition)
        key = member_key(delta.org_id, delta.user_id)
        day_key = f"{key}:{delta.day.isoformat()}"
        day_row = self.tables.usage_days.get(day_key)
        families = {} if day_row is None else day_row.families
        known = families.get(delta.family.value)
        series = {} if known is None else {
            (delta.user_id, delta.day, delta.family): UsageTotalsState(
                delta.user_id, delta.email, delta.day, delta.family,
                known.revision, known.totals,
            )
        }
        applied = apply_usage_delta(series, delta)
        relevant = not applied or delta.family is MetricFamily.COST
        if applied:
            totals = FamilyTotals(delta.revision, dict(delta.totals), delta.baseline)
            new_day = UsageDayRow({**families, delta.family.value: totals})
            self.tables.usage_days[day_key] = new_day
            row = self.tables.usage.get(key)
            new_row = self._fold_insights(
                _with_usage_day(row, delta, partition), key, delta.day.isoformat(),
                (day_row, new_day))
            if new_row != row:
                self.tables.usage[key] = new_row
                active_before = None if row is None else row.last_active_day
                relevant = relevant or active_before != new_row.last_active_day
        if not relevant:
            return []
        cause = Cause(delta.event_id, delta.observed_at, delta.connector)
        return self.evaluate(delta.org_id, delta.user_id, partition, cause)

    def apply_spend_limit(self, delta: UsageDelta, partition: int) -> list[ShadowItAlert]:
        """Keep a member's newest spend-limit reading (newest day, then highest revision; an
        older one is dropped), then evaluate."""
        key = member_key(delta.org_id, delta.user_id)
        known = self.tables.spend_limits.get(key)
        day = delta.day.isoformat()
        if known is None or (day, delta.revision) > (known.day, known.revision):
            self.tables.spend_limits[key] = SpendLimitRow(
                delta.org_id, delta.user_id, partition, day, delta.revision,
                dict(delta.totals), delta.event_id,
            )
        cause = Cause(delta.event_id, delta.observed_at, delta.connector)
        return self.evaluate(delta.org_id, delta.user_id, partition, cause)

    def fold_invite(self, event: InviteEvent, partition: int) -> None:
        """The ``invites`` row of the event's invitation (``removed`` once it is deleted)."""
        status = REMOVED if event.op is InventoryOp.REMOVED else event.invite.status
        self.tables.invites[member_key(event.org_id, event.invite_id)] = InviteRow(
            event.org_id, event.invite_id, partition, status)

    def _fold_insights(
        self, row: UsageRow, key: str, day: str, days: tuple[UsageDayRow | None, UsageDayRow]
    ) -> UsageRow:
        """``row`` with a revised ``day`` (``days``: its rows before and after) in its ledger;
        the organisation's day revised too."""
        before, after = day_usage(days[0]), day_usage(days[1])
        if before == after:
            return row
        ledger = with_day(row.ledger, day, after)
        surfaces = surfaces_by(surfaces_of(self.tables.associations.get(key)), day)
        fold_day(self.tables.org_days, (row.partition, row.org_id, day), (before, after), surfaces)
        return replace(row, ledger=ledger, spend_micros=ledger[-1][1])

    def _fold_surfaces(self, key: str, old: AssociationsRow, new: AssociationsRow) -> None:
        """Count the member's active days for a surface first seen earlier than known."""
        usage = self.tables.usage.get(key)
        if usage is not None:
            fold_surfaces(self.tables.org_days, usage.partition, usage.org_id, usage.ledger,
                          (surfaces_of(old), surfaces_of(new)))

    def usage_totals(self, key: str) -> dict[str, dict[str, int]]:
        """A member's totals per metric family (see ``usage_totals``)."""
        return usage_totals(self.tables.usage, self.tables.usage_days, key)

    def apply_association(self, item: AppAssociation, partition: int) -> list[ShadowItAlert]:
        """Add the association (first one per kind, name and auth wins), then evaluate."""
        key = member_key(item.org_id, item.user_id)
        row = self.tables.associations.get(key) or AssociationsRow(
            org_id=item.org_id, user_id=item.user_id, partition=partition, items={}
        )
        item_key = f"{item.kind.value}/{item.name}/{item.auth.value}"
        if item_key not in row.items:
            entry = AssociationItem(
                kind=item.kind.value,
                name=item.name,
                display_name=item.display_name,
                auth=item.auth.value,
                first_seen=item.first_seen.isoformat(),
                baseline=item.baseline,
                connector=item.connector,
                event_id=item.event_id,
            )
            new_row = replace(row, items={**row.items, item_key: entry})
            self.tables.associations[key] = new_row
            self._fold_surfaces(key, row, new_row)
        cause = Cause(item.event_id, item.observed_at, item.connector)
        events = self.evaluate(item.org_id, item.user_id, partition, cause)
        if item.kind.value == "CONNECTOR" and item.auth.value == "ORG_MANAGED":
            events += self._mark_managed(item.org_id, item.name, partition, cause)
        return events

    def _mark_managed(
        self, org_id: str, connector: str, partition: int, cause: Cause
    ) -> list[ShadowItAlert]:
        """Remember that ``connector`` runs on managed auth in ``org_id``; the first time, the
        members of this partition who use it with a personal credential are evaluated again."""
        if not self._first_signal(org_id, f"{CONNECTOR_SIGNAL}{connector}", partition, cause):
            return []
        return self._evaluate_all(org_id, partition, cause, [
            row.user_id
            for row in self.tables.associations.values()
            if row.org_id == org_id
            and row.partition == partition
            and connector in personal_connectors(row.items.values())
        ])

    def _mark_sso(self, org_id: str, partition: int, cause: Cause) -> list[ShadowItAlert]:
        """Remember that ``org_id`` uses SSO; the first time, the members of this partition
        whose last sign-in bypassed it are evaluated again."""
        if not self._first_signal(org_id, SSO_SIGNAL, partition, cause):
            return []
        return self._evaluate_all(org_id, partition, cause, [
            key.partition(":")[2]
            for key, row in self.tables.activity.items()
            if row.org_id == org_id
            and row.partition == partition
            and ":" in key
            and (row.last_login_method or "").startswith(BYPASS_METHODS)
        ])

    def _first_signal(self, org_id: str, signal: str, partition: int, cause: Cause) -> bool:
        """Record ``signal`` of ``org_id`` in this partition; True the first time."""
        key = f"{partition}/{org_id}:{signal}"
        if key in self.tables.org_signals:
            return False
        self.tables.org_signals[key] = OrgSignalRow(org_id, signal, cause.event_id)
        return True

    def _evaluate_all(
        self, org_id: str, partition: int, cause: Cause, user_ids: list[str]
    ) -> list[ShadowItAlert]:
        events: list[ShadowItAlert] = []
        for user_id in sorted(set(user_ids)):
            events += self.evaluate(org_id, user_id, partition, cause)
        return events

    def apply_directory(self, change: DirectoryChange, partition: int) -> list[ShadowItAlert]:
        """Update this partition's directory copy and re-evaluate the members it concerns.

        The first directory record of an organisation in a partition re-evaluates every member
        of that organisation there (UNMANAGED_IDENTITY starts to apply to them).
        """
        email = normalize_email(change.email)
        directory_key = f"{partition}/{change.org_id}:{email}"
        org_key = f"{partition}/{change.org_id}"
        old = self.tables.directory.get(directory_key)
        new = None if change.record is None else _directory_row(change.record, email)
        org_row = self.tables.directory_orgs.get(org_key)
        first = org_row is None
        count = (0 if org_row is None else org_row.records) + (new is not None) - (old is not None)
        if first or new != old:
            if new is None:
                self.tables.directory.pop(directory_key, None)
            else:
                self.tables.directory[directory_key] = new
            self.tables.directory_orgs[org_key] = DirectoryOrgRow(change.org_id, count)
        if first:
            user_ids = sorted(self._members_of(change.org_id, partition))
        else:
            index = self.tables.identities.get(
                f"{partition}/{change.org_id}:{canonical_email(email)}"
            )
            user_ids = [] if index is None else list(index.users)
        cause = Cause(change.cause_id, change.observed_at)
        return self._evaluate_all(change.org_id, partition, cause, user_ids)

    def apply_status(self, status: ConnectorStatus, partition: int) -> list[ShadowItAlert]:
        """Keep the connector's latest status (a duplicate changes nothing); no alert events.

        ``partition`` is the status topic's (one): it takes the same arguments as the other
        inputs' methods, so the batch runner applies it like them.
        """
        key = f"{status.org_id}:{status.connector}"
        row = self.tables.status.get(key)
        if row is not None and status.event_id in row.applied:
            return []
        self.tables.status[key] = StatusRow(
            org_id=status.org_id,
            connector=status.connector,
            state=status.state.value,
            previous_state=status.previous_state and status.previous_state.value,
            reason=status.reason,
            baseline_complete=status.baseline_complete,
            last_success={name: _iso(at) for name, at in sorted(status.last_success.items())},
            failing=dict(sorted(status.failing.items())),
            poll_id=status.poll_id,
            observed_at=_iso(status.observed_at),
            event_id=status.event_id,
            applied=_remember(() if row is None else row.applied, status.event_id),
            feed_reconciliation=dict(sorted(status.feed_reconciliation.items())),
        )
        return []

    def apply_decision(self, decision: AlertDecision, partition: int) -> list[ShadowItAlert]:
        """Keep the alert's latest triage decision (``streams.worker.decisions`` reads it); no
        alert events. A redelivered decision writes the same row again."""
        self.tables.decisions[decision.alert_id] = DecisionRow(
            alert_id=decision.alert_id,
            org_id=decision.org_id,
            user_id=decision.user_id,
            partition=partition,
            action=decision.action.value,
            decided_by=decision.decided_by,
            why=decision.why,
            until=_iso(decision.until),
            severity=decision.severity,
            reasons=tuple(decision.reasons),
            decided_at=decision.observed_at.isoformat(),
            event_id=decision.event_id,
        )
        return []

    def apply_activity(self, activity: Activity, partition: int) -> list[ShadowItAlert]:
        """Fold an Activity Feed row into the facts of its key, then evaluate the member it
        concerns (a sign-in, a role change); an SSO sign-in marks the organisation as using
        SSO."""
        key = activity_key(activity).decode()
        known = self.tables.activity.get(key)
        member, keys = facts_of(None if known is None else asdict(known))
        member, keys = fold_member(member, activity), fold_keys(keys, activity)
        row = ActivityRow(
            org_id=activity.org_id, partition=partition, **facts_row(member, keys)
        )
        if row != known:
            self.tables.activity[key] = row
        org_id, member_of, user_id = key.partition(":")
        cause = Cause(activity.id, activity.observed_at, activity.connector)
        if not member_of:
            return self.evaluate_keys(key, row, partition, cause)
        events = self.evaluate(org_id, user_id, partition, cause)
        if activity.type in SSO_LOGINS:
            events += self._mark_sso(org_id, partition, cause)
        return events

    def apply_invite(self, event: InviteEvent, partition: int) -> list[ShadowItAlert]:
        """Evaluate an invitation as the event says it is now; its alerts are kept under
        ``org:invite_id``, on the partition of the invites topic that key lands on, so a replay
        re-derives them in the same place."""
        self.fold_invite(event, partition)
        invite = event.invite
        subject = InviteSubject(
            invite_id=event.invite_id,
            email=invite.email,
            role=invite.role,
            status=invite.status,
            invited_at=_iso(invite.invited_at),
            removed=event.op is InventoryOp.REMOVED,
            baseline=event.baseline,
        )
        cause = Cause(event.event_id, event.observed_at, event.connector)
        return self._record(event.org_id, event.invite_id, invite.email, partition, cause,
                            evaluate_invite(subject, self.policy))

    # --- rules ---

    def evaluate(
        self, org_id: str, user_id: str, partition: int, cause: Cause
    ) -> list[ShadowItAlert]:
        """Run the rules for one member (and the keys they created) and record the alert
        events that follow."""
        key = member_key(org_id, user_id)
        user = self.tables.users.get(key)
        activity = self.tables.activity.get(key)
        events = self.evaluate_keys(key, activity, partition, cause)
        alerts = self.tables.alerts.get(key)
        if (user is None or user.status != MEMBER) and not (alerts and alerts.open):
            return events  # non-members have no alerts: nothing to open, nothing to resolve
        usage = self.tables.usage.get(key)
        email = user.email if user else usage.email if usage else None
        subject = self.subject(org_id, user, usage, self.tables.associations.get(key), partition,
                               activity)
        findings = with_groups(evaluate(subject, self.policy), user)
        return events + self._record(org_id, user_id, email, partition, cause, findings)

    def evaluate_keys(
        self, owner: str, row: ActivityRow | None, partition: int, cause: Cause
    ) -> list[ShadowItAlert]:
        """Run the key rules for the keys created by ``owner`` (``org:user``, or ``org`` for
        actors that are not members; ``row``: its activity row); each key's alerts are kept
        under ``org:key_id`` in the partition of its creator, so they replay in the same
        place."""
        if row is None or not row.keys_created:
            return []
        org_id, _, user_id = owner.partition(":")
        gone = self._creator_gone(owner, partition) if user_id else None
        events: list[ShadowItAlert] = []
        for key_id, key in sorted(row.keys_created.items()):
            by = key["created_by"]
            subject = KeySubject(
                key_id=key_id,
                kind=key["kind"],
                created_by=by.get("email") or by.get("id") or by.get("type") or "unknown",
                created_at=key["created_at"],
                deleted=key["deleted_at"] is not None,
                creator_gone=gone,
            )
            events += self._record(org_id, key_id, None, partition, cause,
                                   evaluate_key(subject, self.policy))
        return events

    def _creator_gone(self, owner: str, partition: int) -> str | None:
        """``removed`` or ``deprovisioned`` when the member ``owner`` is no longer one."""
        user = self.tables.users.get(owner)
        if user is not None and user.status != MEMBER:
            return REMOVED
        entry = user and user.email and self.directory_entry(user.org_id, user.email, partition)
        if entry and entry.status is DirectoryStatus.DEPROVISIONED:
            return "deprovisioned"
        return None

    def _record(
        self,
        org_id: str,
        subject_id: str,
        email: str | None,
        partition: int,
        cause: Cause,
        findings: Mapping[AlertReason, Finding],
    ) -> list[ShadowItAlert]:
        """Reconcile a subject's open alerts with ``findings``; store and return the events."""
        key = member_key(org_id, subject_id)
        alerts = self.tables.alerts.get(key)
        if alerts is None and not findings:
            return []
        derived = reconcile(
            alerts.open if alerts else {},
            findings,
            org_id=org_id,
            user_id=subject_id,
            email=email,
            cause=cause,
            raised=alerts.raised if alerts else None,
        )
        events = [self.published(event.event_id) or event for event in derived]
        if events:
            alerts = _with_alert_events(alerts, events, org_id, subject_id, email, partition)
            self.tables.alerts[key] = alerts
        if alerts is not None:
            regraded = _regraded(alerts, findings)
            if regraded is not alerts:
                self.tables.alerts[key] = regraded
        return events

    def subject(
        self,
        org_id: str,
        user: UserRow | None,
        usage: UsageRow | None,
        associations: AssociationsRow | None,
        partition: int,
        activity: ActivityRow | None = None,
    ) -> Subject:
        """What the rules see for one member."""
        email = (user and user.email) or (usage and usage.email) or ""
        cost = self._recent_cost(usage)
        active = None if usage is None else usage.last_active_day
        items = () if associations is None else tuple(associations.items.values())
        personal = personal_connectors(items)
        return Subject(
            email=email,
            member=user is not None and user.status == MEMBER,
            baseline=bool(user and user.baseline),
            directory_known=f"{partition}/{org_id}" in self.tables.directory_orgs,
            directory=self.directory_entry(org_id, email, partition) if email else None,
            daily_spend={day: spend_of(entry.totals) for day, entry in cost.items()},
            baseline_spend_days=frozenset(day for day, entry in cost.items() if entry.baseline),
            last_active_day=None if active is None else date.fromisoformat(active),
            personal_connectors=personal,
            role=user.role if user else None,
            org_managed_connectors=frozenset(
                name
                for name in personal
                if f"{partition}/{org_id}:{CONNECTOR_SIGNAL}{name}" in self.tables.org_signals
            ) | managed_connectors(items),
            last_login=(activity and activity.last_login_method and Login(
                activity.last_login_method, activity.last_login_at or ""
            )) or None,
            org_uses_sso=f"{partition}/{org_id}:{SSO_SIGNAL}" in self.tables.org_signals,
            role_change=_role_change(activity),
            spend_limits=self._spend_limits_of(org_id, user or usage),
        )

    def _spend_limits_of(
        self, org_id: str, member: UserRow | UsageRow | None
    ) -> tuple[SpendLimitFact, ...]:
        """The member's newest spend-limit reading as the rules read it."""
        row = None if member is None else self.tables.spend_limits.get(
            member_key(org_id, member.user_id)
        )
        return () if row is None else spend_limit_facts(row.totals)

    def _recent_cost(self, usage: UsageRow | None) -> dict[date, FamilyTotals]:
        """COST entries of the ``SPEND_HISTORY_DAYS`` up to the member's newest day."""
        if usage is None:
            return {}
        key = member_key(usage.org_id, usage.user_id)
        last = date.fromisoformat(usage.last_day)
        # No day before the member's first has a row.
        known = (last - date.fromisoformat(usage.first_day)).days
        found = {}
        for back in range(min(SPEND_HISTORY_DAYS, known) + 1):
            day = last - timedelta(days=back)
            day_row = self.tables.usage_days.get(f"{key}:{day.isoformat()}")
            entry = None if day_row is None else day_row.families.get(MetricFamily.COST.value)
            if entry is not None:
                found[day] = entry
        return found

    def directory_entry(self, org_id: str, email: str, partition: int) -> DirectoryEntry | None:
        """The directory entry for an address (see ``lookup_directory``), as the rules read it."""
        row = lookup_directory(self.tables.directory, org_id, email, partition)
        if row is None:
            return None
        return DirectoryEntry(
            email=row.email,
            status=DirectoryStatus(row.status),
            employee_id=row.employee_id,
            updated_day=datetime.fromisoformat(row.updated_at).date(),
        )

    # --- helpers ---

    def _user_row(
        self, row: UserRow | None, event: UserEvent, image: UserImage | None, partition: int
    ) -> UserRow:
        seen = event.observed_at.isoformat()
        rejoined = image is not None and (row is None or row.status != MEMBER)
        source = image or event.before
        if source is not None:
            email, name, role = source.email, source.name, source.role
            workspaces, added_at = dict(source.workspaces), _iso(source.added_at)
        elif row is not None:
            email, name, role = row.email, row.name, row.role
            workspaces, added_at = row.workspaces, row.added_at
        else:
            email, name, role, workspaces, added_at = "", None, None, {}, None
        return UserRow(
            org_id=event.org_id,
            user_id=event.user_id,
            email=email,
            name=name,
            role=role,
            workspaces=workspaces,
            added_at=added_at,
            status=MEMBER if image is not None else REMOVED,
            first_seen=seen if row is None else row.first_seen,
            last_seen=seen,
            baseline=event.baseline if rejoined or row is None else row.baseline,
            connector=event.connector,
            source=event.source.value,
            partition=partition,
            applied=_remember(() if row is None else row.applied, event.event_id),
            groups=_groups_of(source, row),
        )

    def _reindex(self, old: UserRow | None, new: UserRow, partition: int) -> None:
        """Keep ``identities`` (members by address without +tag) in step with one member."""
        def address(row: UserRow | None) -> str | None:
            if row is None or row.status != MEMBER:
                return None
            return f"{partition}/{row.org_id}:{canonical_email(row.email)}"

        def users_at(key: str) -> tuple[str, ...]:
            index = self.tables.identities.get(key)
            return () if index is None else index.users

        before, after = address(old), address(new)
        if before == after:
            return
        user_id = new.user_id
        if before is not None:
            users = tuple(user for user in users_at(before) if user != user_id)
            if users:
                self.tables.identities[before] = IdentityRow(users)
            else:
                self.tables.identities.pop(before, None)
        if after is not None:
            self.tables.identities[after] = IdentityRow(
                tuple(sorted({*users_at(after), user_id}))
            )

    def _members_of(self, org_id: str, partition: int) -> list[str]:
        """The user ids of the current members of ``org_id`` on ``partition``."""
        return [
            row.user_id
            for row in self.tables.users.values()
            if row.org_id == org_id and row.partition == partition and row.status == MEMBER
        ]


def _groups_of(source: UserImage | None, row: UserRow | None) -> dict[str, str]:
    """The member's groups: the event's image, else what the row knew."""
    if source is not None:
        return dict(source.groups)
    return {} if row is None else row.groups


def with_groups(
    findings: Mapping[AlertReason, Finding], user: UserRow | None
) -> Mapping[AlertReason, Finding]:
    """``findings`` with the member's group names as context (``groups``), when they have any."""
    if user is None or not user.groups:
        return findings
    names = ",".join(sorted(user.groups.values()))
    return {
        reason: replace(finding, evidence={**finding.evidence, "groups": names})
        for reason, finding in findings.items()
    }


def _role_change(activity: ActivityRow | None) -> RoleChange | None:
    """The member's last role change as the rules read it."""
    change = None if activity is None else activity.role_change
    if not change:
        return None
    by = change["by"]
    return RoleChange(change["previous"], change["current"],
                      by.get("email") or by.get("id") or by.get("type") or "unknown",
                      change["at"])


def usage_totals(
    usage: Mapping[str, UsageRow], usage_days: Mapping[str, UsageDayRow], key: str
) -> dict[str, dict[str, int]]:
    """A member's totals per metric family: every day's latest revision, summed."""
    row = usage.get(key)
    totals: dict[str, dict[str, int]] = {}
    if row is None:
        return totals
    for day in _days(row.first_day, row.last_day):
        day_row = usage_days.get(f"{key}:{day}")
        for family, entry in ({} if day_row is None else day_row.families).items():
            sums = totals.setdefault(family, {})
            for metric, value in entry.totals.items():
                sums[metric] = sums.get(metric, 0) + value
    return totals


def lookup_directory(
    directory: Mapping[str, DirectoryRow], org_id: str, email: str, partition: int
) -> DirectoryRow | None:
    """The ``directory`` row of an address in ``partition``'s copy: the exact address first,
    then without +tag."""
    for candidate in dict.fromkeys((normalize_email(email), canonical_email(email))):
        row = directory.get(f"{partition}/{org_id}:{candidate}")
        if row is not None:
            return row
    return None


def day_usage(row: UsageDayRow | None) -> DayUsage:
    """A member's day as the figures count it (spend, tokens, any metric non-zero)."""
    if row is None:
        return DayUsage()
    cost = row.families.get(MetricFamily.COST.value)
    tokens = row.families.get(MetricFamily.TOKENS.value)
    return DayUsage(
        spend_micros=0 if cost is None else spend_of(cost.totals),
        tokens=0 if tokens is None else tokens.totals.get("total", 0),
        active=any(any(entry.totals.values()) for entry in row.families.values()),
        spend_by_product={} if cost is None else spend_by_product(cost.totals),
    )


def _directory_row(record: DirectoryRecord, email: str) -> DirectoryRow:
    return DirectoryRow(
        org_id=record.org_id,
        email=email,
        employee_id=record.employee_id,
        name=record.name,
        status=record.status.value,
        source=record.source,
        updated_at=record.updated_at.isoformat(),
    )


def _with_usage_day(row: UsageRow | None, delta: UsageDelta, partition: int) -> UsageRow:
    """The member's usage summary after a new revision for ``delta.day``."""
    day = delta.day.isoformat()
    base = row or UsageRow(
        org_id=delta.org_id,
        user_id=delta.user_id,
        email=delta.email,
        partition=partition,
        first_day=day,
        last_day=day,
        last_active_day=None,
    )
    active = base.last_active_day
    if any(delta.totals.values()) and (active is None or day > active):
        active = day
    return replace(
        base,
        email=delta.email or base.email,
        first_day=min(base.first_day, day),
        last_day=max(base.last_day, day),
        last_active_day=active,
        actor_type=_actor_type(base.actor_type, delta.actor_type),
    )


def _actor_type(known: str, delivered: str) -> str:
    """Whose usage a row is: a delta without the field (a member's, by default) does not
    undo a non-member actor type known from another source."""
    return known if delivered == USER_ACTOR else delivered


def _days(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def _regraded(row: AlertsRow, findings: Mapping[AlertReason, Finding]) -> AlertsRow:
    """``row`` with each open alert's severity, evidence and baseline flag as its finding has
    them now (the same row when nothing changed); the alert keeps its id and the topic its
    OPENED event."""
    changed = {
        reason: replace(alert, severity=finding.severity.value, evidence=dict(finding.evidence),
                        baseline=finding.baseline)
        for reason, alert in row.open.items()
        if (finding := findings.get(AlertReason(reason))) is not None
        and (alert.severity, alert.evidence, alert.baseline)
        != (finding.severity.value, finding.evidence, finding.baseline)
    }
    return replace(row, open={**row.open, **changed}) if changed else row


def _with_alert_events(
    row: AlertsRow | None,
    events: list[ShadowItAlert],
    org_id: str,
    user_id: str,
    email: str | None,
    partition: int,
) -> AlertsRow:
    open_alerts = {} if row is None else dict(row.open)
    resolved = [] if row is None else list(row.resolved)
    raised = {} if row is None else dict(row.raised)
    for event in events:
        reason = event.reason.value
        if event.state is AlertState.OPENED:
            raised[reason] = raised.get(reason, 0) + 1
            open_alerts[reason] = OpenAlert(
                alert_id=event.alert_id,
                event_id=event.event_id,
                severity=event.severity.value,
                evidence=dict(event.evidence),
                baseline=event.baseline,
                opened_at=event.opened_at.isoformat(),
                cause_event_id=event.cause_event_id,
            )
        else:
            stored = open_alerts.pop(reason)
            resolved.append(
                ResolvedAlert(
                    **asdict(stored),
                    reason=reason,
                    resolved_at=event.observed_at.isoformat(),
                    resolve_event_id=event.event_id,
                )
            )
    return AlertsRow(
        org_id=org_id,
        user_id=user_id,
        email=email,
        partition=partition,
        open=open_alerts,
        resolved=tuple(resolved[-RESOLVED_KEPT:]),
        raised=raised,
    )
