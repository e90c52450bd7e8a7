"""Folding events into tables: the one definition the poller, the worker and replay share.

- User events: SNAPSHOT / ADDED / UPDATED set the member to ``after``; REMOVED deletes them.
  Each event sets a member to a value that depends on the event alone, so re-applying a
  contiguous run of events in order (at-least-once redelivery) ends in the same table; the
  folds below also drop any event whose ``event_id`` they have seen.
- Usage deltas: a (org, user, day, family) entry keeps the totals of its highest revision;
  an older or equal revision changes nothing. Summing the deltas of every revision gives the
  same totals (the poller's contract), which the tests check.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from datetime import date

from streams.events.records import (
    MetricFamily,
    UsageDelta,
    UsageTotalsState,
    UserEvent,
    UserImage,
    UserOp,
)

UsageKey = tuple[str, date, MetricFamily]
"""(user_id, day, family): one usage series of an organisation."""


def apply_user_event(members: MutableMapping[str, UserImage], event: UserEvent) -> None:
    """Apply one user event to one organisation's members (keyed by user id)."""
    if event.op == UserOp.REMOVED:
        members.pop(event.user_id, None)
        return
    if event.after is None:
        raise ValueError(f"{event.op} event {event.event_id} has no 'after' image")
    members[event.user_id] = event.after


def apply_usage_delta(
    totals: MutableMapping[UsageKey, UsageTotalsState], delta: UsageDelta
) -> bool:
    """Keep ``delta``'s totals unless a same-or-newer revision is there; True when applied."""
    key = (delta.user_id, delta.day, delta.family)
    known = totals.get(key)
    if known is not None and known.revision >= delta.revision:
        return False
    totals[key] = UsageTotalsState(
        user_id=delta.user_id,
        email=delta.email,
        day=delta.day,
        family=delta.family,
        revision=delta.revision,
        totals=dict(delta.totals),
    )
    return True


class UserFold:
    """Members per organisation, folded from user events with duplicates dropped by event_id."""

    def __init__(self) -> None:
        self.rosters: dict[str, dict[str, UserImage]] = {}
        self._seen: set[str] = set()

    def apply(self, event: UserEvent) -> bool:
        """Apply ``event`` unless its id was seen before; True when applied."""
        if event.event_id in self._seen:
            return False
        self._seen.add(event.event_id)
        apply_user_event(self.rosters.setdefault(event.org_id, {}), event)
        return True

    def apply_all(self, events: Iterable[UserEvent]) -> UserFold:
        """Apply events in order; returns ``self``."""
        for event in events:
            self.apply(event)
        return self

    def roster(self, org_id: str) -> dict[str, UserImage]:
        """The members of one organisation (empty when none were seen)."""
        return self.rosters.get(org_id, {})


class UsageFold:
    """Usage totals per organisation, folded from usage deltas (highest revision wins)."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[UsageKey, UsageTotalsState]] = {}

    def apply(self, delta: UsageDelta) -> bool:
        """Apply ``delta``; True when it was newer than what the table held."""
        return apply_usage_delta(self.tables.setdefault(delta.org_id, {}), delta)

    def apply_all(self, deltas: Iterable[UsageDelta]) -> UsageFold:
        """Apply deltas in order; returns ``self``."""
        for delta in deltas:
            self.apply(delta)
        return self

    def table(self, org_id: str) -> dict[UsageKey, UsageTotalsState]:
        """The usage totals of one organisation."""
        return self.tables.get(org_id, {})
