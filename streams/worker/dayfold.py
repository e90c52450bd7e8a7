"""The insight figures folded as usage is applied, so ``/insights`` and ``/users`` read
O(days + members shown) instead of every member's every day.

Two folds: a member's ``UsageRow.ledger`` (running spend and active days, by day) and an
organisation's ``OrgDayRow`` per partition and day (``streams.insights.OrgDay``). Both are
updated with the difference between a day's figures before and after a revision, and the
surface counts again when an association makes a surface's first use earlier.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, MutableMapping

from streams.events.records import AppKind
from streams.insights import DayUsage, OrgDay
from streams.worker.rows import AssociationsRow, OrgDayRow

Ledger = tuple[tuple[str, int, int], ...]
SURFACE = AppKind.SURFACE.value


def surfaces_of(row: AssociationsRow | None) -> dict[str, str]:
    """Surface name -> the first time it was seen in use (the earliest of its items)."""
    found: dict[str, str] = {}
    for item in () if row is None else row.items.values():
        if item.kind == SURFACE and (item.name not in found or item.first_seen < found[item.name]):
            found[item.name] = item.first_seen
    return found


def _day(entry: tuple[str, int, int]) -> str:
    return entry[0]


def _through(ledger: Ledger, day: str) -> tuple[int, int]:
    """Spend and active days up to and including ``day``."""
    at = bisect_right(ledger, day, key=_day)
    return (0, 0) if at == 0 else ledger[at - 1][1:]


def with_day(ledger: Ledger, day: str, usage: DayUsage) -> Ledger:
    """``ledger`` with ``day``'s figures now ``usage``."""
    at = bisect_left(ledger, day, key=_day)
    spend_before, active_before = (0, 0) if at == 0 else ledger[at - 1][1:]
    entry = (day, spend_before + usage.spend_micros, active_before + usage.active)
    replaced = at < len(ledger) and ledger[at][0] == day
    old = ledger[at] if replaced else (day, spend_before, active_before)
    spend_change, active_change = entry[1] - old[1], entry[2] - old[2]
    later = ledger[at + replaced:]
    return (*ledger[:at], entry,
            *((later_day, spend + spend_change, active + active_change)
              for later_day, spend, active in later))


def window_sums(ledger: Ledger, first: str, last: str) -> tuple[int, int]:
    """Spend and active days from ``first`` to ``last`` (inclusive)."""
    spend_last, active_last = _through(ledger, last)
    at = bisect_left(ledger, first, key=_day)
    spend_first, active_first = (0, 0) if at == 0 else ledger[at - 1][1:]
    return spend_last - spend_first, active_last - active_first


def active_days(ledger: Ledger) -> Iterator[str]:
    """The days the member was active."""
    before = 0
    for day, _, active in ledger:
        if active > before:
            yield day
        before = active


def org_day_key(partition: int, org_id: str, day: str) -> str:
    """Table key of an ``OrgDayRow``."""
    return f"{partition}/{org_id}:{day}"


def fold_day(
    org_days: MutableMapping[str, OrgDayRow],
    key: tuple[int, str, str],
    change: tuple[DayUsage, DayUsage],
    surfaces: list[str],
) -> None:
    """Replace one member's day ``change[0]`` by ``change[1]`` in the organisation's day
    (``key`` is partition, org, day)."""
    before, after = change
    if before == after:
        return
    figures = org_day(org_days.get(org_day_key(*key)))
    figures.add(before, surfaces, -1)
    figures.add(after, surfaces)
    _store(org_days, key, figures)


def fold_surfaces(
    org_days: MutableMapping[str, OrgDayRow],
    partition: int,
    org_id: str,
    ledger: Ledger,
    since: tuple[dict[str, str], dict[str, str]],
) -> None:
    """Count a member's active days again for the surfaces whose first use moved earlier
    (``since`` before and after an association)."""
    before, after = since
    for name, first_seen in after.items():
        previous = before.get(name)
        if previous == first_seen:
            continue
        for day in active_days(ledger):
            if first_seen <= day and (previous is None or day < previous):
                figures = org_day(org_days.get(org_day_key(partition, org_id, day)))
                figures.active[name] = figures.active.get(name, 0) + 1
                _store(org_days, (partition, org_id, day), figures)


def org_day(row: OrgDayRow | None) -> OrgDay:
    """The figures of a row (a fresh copy, to change)."""
    if row is None:
        return OrgDay()
    return OrgDay(dict(row.spend_micros), row.tokens, dict(row.active))


def _store(
    org_days: MutableMapping[str, OrgDayRow], key: tuple[int, str, str], figures: OrgDay
) -> None:
    partition, org_id, day = key
    org_days[org_day_key(*key)] = OrgDayRow(
        org_id, day, partition, figures.spend_micros, figures.tokens, figures.active)
