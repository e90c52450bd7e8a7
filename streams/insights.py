"""The morning figures of one organisation over a window of days: pure, shared by the worker's
``/insights`` view and ``claude-connector report``.

Both build ``MemberFacts`` (a member's usage per day, surfaces, role, tenure) and ``AlertMark``s
from what they read (the worker's tables, or the topics replayed) and call ``compute``. A
worker computes the figures of its own partitions; ``Insights.merge`` adds another worker's
(every figure is a sum, a union or a top-N of members, and a member lives on one partition),
and ``finish`` derives the ratios and the estimate once everything is in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from streams.events.records import USER_ACTOR

MICRO_CENTS_PER_USD = 100_000_000
TOP_SPENDERS = 10
MAX_DAYS = 366
ALL_SPEND = "all"
"""The spend series of what the cost data does not split by product."""
MISSING_ALWAYS = (
    "assigned seats: the analytics summaries are not on the topics",
)


@dataclass(frozen=True, slots=True)
class DayUsage:
    """A member's day: spend (USD micro-cents; per product where the source split it),
    tokens, and whether any metric was non-zero."""

    spend_micros: int = 0
    tokens: int = 0
    active: bool = False
    spend_by_product: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """What the figures need of one member (or non-member actor) of the organisation."""

    org_id: str
    user_id: str
    email: str | None
    name: str | None
    role: str | None
    member: bool
    member_since: str | None
    last_active_day: str | None
    days: dict[str, DayUsage]
    surfaces: dict[str, str] = field(default_factory=dict)
    """Surface name -> the first day it was seen in use."""
    actor_type: str = USER_ACTOR


@dataclass(frozen=True, slots=True)
class AlertMark:
    """One alert: its reason, the day it opened and the day it resolved (if it did)."""

    reason: str
    opened_day: str
    resolved_day: str | None


@dataclass(frozen=True, slots=True)
class Spender:
    """A member or other actor and their spend over the window."""

    id: str
    email: str | None
    name: str | None
    actor_type: str
    member: bool
    spend_usd: float


@dataclass(frozen=True, slots=True)
class IdleSeat:
    """A member with no activity for ``idle_days``."""

    id: str
    email: str | None
    name: str | None
    role: str | None
    last_active_day: str | None
    member_since: str | None


@dataclass(frozen=True, slots=True)
class Seats:
    """Seat counts (``pending_invites`` None where invitations are not read; ``assigned``
    stays None until the topics carry it)."""

    members: int = 0
    active: int = 0
    idle: int = 0
    pending_invites: int | None = None
    assigned: int | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """The days shown: ``days`` ending on ``last`` (inclusive); idle after ``idle_days``."""

    last: date
    days: int
    idle_days: int

    def __post_init__(self) -> None:
        if self.last < date.min + timedelta(days=max(self.days, self.idle_days)):
            raise ValueError(f"{self.last} leaves no room for {self.days} days before it")

    @property
    def first(self) -> date:
        return self.last - timedelta(days=self.days - 1)

    def dates(self) -> list[str]:
        return [(self.first + timedelta(days=n)).isoformat() for n in range(self.days)]


@dataclass(frozen=True, slots=True)
class Insights:
    """The figures of one organisation over a window (see the module docstring)."""

    org_id: str | None
    first_day: str
    last_day: str
    idle_days: int
    spend_usd_by_day: dict[str, dict[str, float]]
    tokens_by_day: dict[str, int]
    active_by_day: dict[str, dict[str, int]]
    """Day -> ``any`` and each surface -> members active that day (by the surfaces they had
    used by then)."""
    seats: Seats
    top_spenders: list[Spender]
    idle_seats: list[IdleSeat]
    alerts_by_day: dict[str, dict[str, dict[str, int]]]
    """Day -> reason -> ``{opened, resolved}``."""
    adoption: float | None = None
    seat_price_usd: float | None = None
    idle_cost_usd_per_month: float | None = None
    missing: list[str] = field(default_factory=lambda: list(MISSING_ALWAYS))

    def merge(self, other: Insights) -> Insights:
        """These figures and another worker's (other members) together."""
        return replace(
            self,
            spend_usd_by_day=_add_nested(self.spend_usd_by_day, other.spend_usd_by_day),
            tokens_by_day=_add(self.tokens_by_day, other.tokens_by_day),
            active_by_day=_add_nested(self.active_by_day, other.active_by_day),
            seats=Seats(
                members=self.seats.members + other.seats.members,
                active=self.seats.active + other.seats.active,
                idle=self.seats.idle + other.seats.idle,
                pending_invites=_add_known(self.seats.pending_invites,
                                           other.seats.pending_invites),
            ),
            top_spenders=_top(self.top_spenders + other.top_spenders),
            idle_seats=sorted(self.idle_seats + other.idle_seats, key=_idle_order),
            alerts_by_day={
                day: _add_nested(self.alerts_by_day.get(day, {}), other.alerts_by_day.get(day, {}))
                for day in sorted({*self.alerts_by_day, *other.alerts_by_day})
            },
        )

    def finish(self, seat_price_usd: float | None) -> Insights:
        """With adoption and the monthly estimate of the idle seats at ``seat_price_usd``."""
        members = self.seats.members
        return replace(
            self,
            adoption=round(self.seats.active / members, 4) if members else None,
            seat_price_usd=seat_price_usd,
            idle_cost_usd_per_month=(
                None if seat_price_usd is None else round(self.seats.idle * seat_price_usd, 2)
            ),
        )


@dataclass(slots=True)
class OrgDay:
    """An organisation's day (one worker's partitions): spend per series (USD micro-cents),
    tokens, and active members (``any`` and per surface used by then)."""

    spend_micros: dict[str, int] = field(default_factory=dict)
    tokens: int = 0
    active: dict[str, int] = field(default_factory=dict)

    def add(self, usage: DayUsage, surfaces: Iterable[str], sign: int = 1) -> None:
        """Count (``sign`` 1) or uncount (-1) one member's day, active on ``surfaces``."""
        self.tokens += sign * usage.tokens
        unsplit = usage.spend_micros
        for product, micros in usage.spend_by_product.items():
            _bump(self.spend_micros, product, sign * micros)
            unsplit -= micros
        if unsplit:
            _bump(self.spend_micros, ALL_SPEND, sign * unsplit)
        if usage.active:
            for name in ("any", *surfaces):
                _bump(self.active, name, sign)

    def merged(self, other: OrgDay) -> OrgDay:
        """This day and the same day of other members together."""
        return OrgDay(_add(self.spend_micros, other.spend_micros), self.tokens + other.tokens,
                      _add(self.active, other.active))


@dataclass(frozen=True, slots=True)
class MemberWindow:
    """A member (or other actor) as the figures need it once its days are summed over the
    window: ``spend_micros`` and ``active`` are the window's."""

    facts: MemberFacts
    spend_micros: int
    active: bool


def compute(
    org_id: str | None,
    members: Iterable[MemberFacts],
    alerts: Iterable[AlertMark],
    window: Window,
) -> Insights:
    """The figures of ``members`` and ``alerts`` over ``window`` (not finished: see ``finish``)."""
    dates = window.dates()
    org_days = {day: OrgDay() for day in dates}
    summed = []
    for facts in members:
        spent = 0
        was_active = False
        for day in dates:
            usage = facts.days.get(day)
            if usage is None:
                continue
            spent += usage.spend_micros
            was_active = was_active or usage.active
            org_days[day].add(usage, surfaces_by(facts.surfaces, day))
        summed.append(MemberWindow(facts, spent, was_active))
    return assemble(org_id, org_days, summed, alerts, window)


def surfaces_by(surfaces: dict[str, str], day: str) -> list[str]:
    """The surfaces (name -> first seen) a member had used by ``day``."""
    return [name for name, since in surfaces.items() if since <= day]


def assemble(
    org_id: str | None,
    org_days: dict[str, OrgDay],
    members: Iterable[MemberWindow],
    alerts: Iterable[AlertMark],
    window: Window,
    pending_invites: int | None = None,
) -> Insights:
    """The figures from the window's days of the organisation (``org_days``, by day) and its
    members summed over the window (not finished: see ``finish``)."""
    dates = window.dates()
    first, last = dates[0], dates[-1]
    days = {day: org_days.get(day) or OrgDay() for day in dates}
    spenders: list[Spender] = []
    idle: list[IdleSeat] = []
    current = active_members = 0
    for summed in members:
        facts = summed.facts
        if summed.spend_micros:
            spenders.append(Spender(facts.user_id, facts.email, facts.name, facts.actor_type,
                                    facts.member, _usd(summed.spend_micros)))
        if not facts.member:
            continue
        current += 1
        active_members += summed.active
        if is_idle(facts, window):
            idle.append(IdleSeat(facts.user_id, facts.email, facts.name, facts.role,
                                 facts.last_active_day, facts.member_since))
    opened_resolved: dict[str, dict[str, dict[str, int]]] = {}
    for mark in alerts:
        for day, kind in ((mark.opened_day, "opened"), (mark.resolved_day, "resolved")):
            if day is not None and first <= day <= last:
                counts = opened_resolved.setdefault(day, {}).setdefault(
                    mark.reason, {"opened": 0, "resolved": 0})
                counts[kind] += 1
    return Insights(
        org_id=org_id,
        first_day=first,
        last_day=last,
        idle_days=window.idle_days,
        spend_usd_by_day={
            day: {name: _usd(micros) for name, micros in sorted(figures.spend_micros.items())
                  if micros}
            for day, figures in days.items()
        },
        tokens_by_day={day: figures.tokens for day, figures in days.items()},
        active_by_day={
            day: {"any": 0} | {name: count for name, count in figures.active.items() if count}
            for day, figures in days.items()
        },
        seats=Seats(members=current, active=active_members, idle=len(idle),
                    pending_invites=pending_invites),
        top_spenders=_top(spenders),
        idle_seats=sorted(idle, key=_idle_order),
        alerts_by_day=dict(sorted(opened_resolved.items())),
    )


def is_idle(facts: MemberFacts, window: Window) -> bool:
    """A current member without activity in the ``idle_days`` ending on the window's last day
    (one who joined within those days and has not been active yet is not idle)."""
    since = (window.last - timedelta(days=window.idle_days - 1)).isoformat()
    if facts.last_active_day is not None:
        return facts.last_active_day < since
    return facts.member_since is None or facts.member_since[:10] < since


def _add_known(left: int | None, right: int | None) -> int | None:
    return left if right is None else right if left is None else left + right


def _bump(counts: dict[str, int], name: str, by: int) -> None:
    counts[name] = counts.get(name, 0) + by


def _usd(micros: float) -> float:
    return round(micros / MICRO_CENTS_PER_USD, 2)


def _top(spenders: list[Spender]) -> list[Spender]:
    return sorted(spenders, key=lambda s: (-s.spend_usd, s.id))[:TOP_SPENDERS]


def _idle_order(seat: IdleSeat) -> tuple[str, str]:
    return (seat.last_active_day or "", seat.id)


def _add(left: dict[str, int], right: dict[str, int]) -> dict[str, int]:
    return {key: round(left.get(key, 0) + right.get(key, 0), 2) for key in sorted({*left, *right})}


def _add_nested(left: dict[str, dict], right: dict[str, dict]) -> dict[str, dict]:
    return {
        key: _add(left.get(key, {}), right.get(key, {})) for key in sorted({*left, *right})
    }
