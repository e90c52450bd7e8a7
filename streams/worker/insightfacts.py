"""The insight figures' inputs (``streams.insights``) read from the worker's tables.

The worker's views and ``claude-connector report`` (which folds the topics into the same
tables) both read members and alerts through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from streams.events.records import AppKind, MetricFamily
from streams.insights import AlertMark, DayUsage, Insights, MemberFacts, Window, compute
from streams.worker.rows import MEMBER, AlertsRow, UsageRow, UserRow
from streams.worker.rules import spend_of
from streams.worker.state import Tables

COST, TOKENS, SURFACE = MetricFamily.COST.value, MetricFamily.TOKENS.value, AppKind.SURFACE.value


def member_facts(
    tables: Tables, key: str, user: UserRow | None, usage: UsageRow | None, days: list[str]
) -> MemberFacts:
    """One member's facts over ``days`` (usage per day, surfaces, tenure); without a ``users``
    row, an actor known only from usage (not a member)."""
    found: dict[str, DayUsage] = {}
    if usage is not None:
        for day in days:
            if not usage.first_day <= day <= usage.last_day:
                continue
            row = tables.usage_days.get(key + ":" + day)
            if row is None:
                continue
            cost = row.families.get(COST)
            tokens = row.families.get(TOKENS)
            found[day] = DayUsage(
                spend_micros=0 if cost is None else spend_of(cost.totals),
                tokens=0 if tokens is None else tokens.totals.get("total", 0),
                active=any(any(entry.totals.values()) for entry in row.families.values()),
            )
    associations = tables.associations.get(key)
    surfaces = {} if associations is None else {
        item.name: item.first_seen
        for item in sorted(associations.items.values(), key=lambda item: item.first_seen,
                           reverse=True)
        if item.kind == SURFACE
    }
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
        days=found,
        surfaces=surfaces,
    )


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
    days = window.dates()

    def wanted(row: UserRow | UsageRow | AlertsRow) -> bool:
        return (org_id is None or row.org_id == org_id) and (
            partitions is None or row.partition in partitions)

    members = [
        member_facts(tables, key, user, tables.usage.get(key), days)
        for key, user in tables.users.items() if wanted(user)
    ]
    members += [
        member_facts(tables, key, None, usage, days)
        for key, usage in tables.usage.items() if key not in tables.users and wanted(usage)
    ]
    if alerts is None:
        alerts = (
            mark for row in tables.alerts.values() if wanted(row) for mark in alert_marks(row)
        )
    return compute(org_id, members, alerts, window)

