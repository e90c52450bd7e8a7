"""The insight figures' inputs (``streams.insights``) read from the worker's tables.

The worker's views and ``claude-connector report`` (which folds the topics into the same
tables) both read members and alerts through here. The days come folded (``org_days``) and
each member's window is two look-ups in its ledger (``streams.worker.dayfold``), so a view
reads O(days + members) rows, not every member's every day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from streams.events.records import USER_ACTOR
from streams.insights import (
    AlertMark,
    Insights,
    MemberFacts,
    MemberWindow,
    OrgDay,
    Window,
    assemble,
)
from streams.worker.dayfold import org_day, org_day_key, surfaces_of, window_sums
from streams.worker.rows import MEMBER, AlertsRow, InviteRow, OrgDayRow, UsageRow, UserRow
from streams.worker.state import Tables

PENDING = "pending"


def member_facts(tables: Tables, key: str, user: UserRow | None, usage: UsageRow | None
                 ) -> MemberFacts:
    """One member's facts (surfaces, tenure, last activity; no days); without a ``users``
    row, an actor known only from usage (not a member)."""
    org_id, _, user_id = key.partition(":")
    return MemberFacts(
        org_id=org_id,
        user_id=user_id,
        email=user.email if user else usage and usage.email,
        name=user and user.name,
        role=user and user.role,
        member=user is not None and user.status == MEMBER,
        member_since=user and (user.added_at or user.first_seen)[:10],
        last_active_day=None if usage is None else usage.last_active_day,
        days={},
        surfaces=surfaces_of(tables.associations.get(key)),
        actor_type=USER_ACTOR if usage is None else usage.actor_type,
    )


def member_window(facts: MemberFacts, usage: UsageRow | None, span: tuple[str, str]
                  ) -> MemberWindow:
    """A member's spend and whether they were active over the days ``span`` (first, last)."""
    if usage is None:
        return MemberWindow(facts, 0, False)
    spend, active = window_sums(usage.ledger, *span)
    return MemberWindow(facts, spend, active > 0)


def alert_marks(row: AlertsRow) -> Iterator[AlertMark]:
    """The alerts of one member's row: the open ones and the resolved ones kept."""
    for reason, alert in row.open.items():
        yield AlertMark(reason, alert.opened_at[:10], None)
    for resolved in row.resolved:
        yield AlertMark(resolved.reason, resolved.opened_at[:10], resolved.resolved_at[:10])


def table_insights(
    tables: Tables,
    org_id: str | None,
    partitions: set[int] | None,
    window: Window,
    alerts: Iterable[AlertMark] | None = None,
) -> Insights:
    """The (unfinished) figures of ``org_id`` (every org when None) on ``partitions`` (all
    when None); the alerts are the ``alerts`` table's unless given."""

    def wanted(row: UserRow | UsageRow | AlertsRow | OrgDayRow | InviteRow) -> bool:
        return (org_id is None or row.org_id == org_id) and (
            partitions is None or row.partition in partitions)

    dates = window.dates()
    span = (dates[0], dates[-1])
    members = [
        member_window(member_facts(tables, key, user, usage), usage, span)
        for key, user in tables.users.items() if wanted(user)
        for usage in (tables.usage.get(key),)
    ]
    members += [
        member_window(member_facts(tables, key, None, usage), usage, span)
        for key, usage in tables.usage.items() if key not in tables.users and wanted(usage)
    ]
    if alerts is None:
        alerts = (
            mark for row in tables.alerts.values() if wanted(row) for mark in alert_marks(row)
        )
    pending = sum(1 for row in tables.invites.values() if row.status == PENDING and wanted(row))
    return assemble(org_id, org_days(tables, org_id, partitions, window, wanted), members,
                    alerts, window, pending)


def org_days(tables: Tables, org_id: str | None, partitions: set[int] | None, window: Window,
             wanted: Callable[[OrgDayRow], bool]) -> dict[str, OrgDay]:
    """The window's days of ``org_id`` on ``partitions``, added up (looked up by key when the
    org and partitions are known, else read through)."""
    dates = window.dates()
    if org_id is not None and partitions is not None:
        rows = (tables.org_days.get(org_day_key(partition, org_id, day))
                for partition in partitions for day in dates)
    else:
        rows = (row for row in tables.org_days.values()
                if dates[0] <= row.day <= dates[-1] and wanted(row))
    days: dict[str, OrgDay] = {}
    for row in rows:
        if row is not None:
            days[row.day] = days[row.day].merged(org_day(row)) if row.day in days else org_day(row)
    return days
