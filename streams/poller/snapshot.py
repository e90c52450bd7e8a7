"""What one poll observed, as plain data: the input of the pure diff (no I/O here).

The collecting side (client calls, paging, completeness) builds these; ``diff`` compares them
with the last committed state. A field left ``None`` in a ``SnapshotUser`` means "this source
does not report it": it never causes an update and never erases a known value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from streams.events.records import USER_ACTOR, AppKind, AuthKind, MetricFamily, Source

MICROS_PER_CENT = 1_000_000


@dataclass(frozen=True, slots=True)
class PollContext:
    """The poll cycle that made an observation; stamped on every event it produces.

    ``poll_id`` must be deterministic per cycle (``{connector}:{cycle}``, with ``cycle`` one
    more than the committed cursor's), so a cycle re-run after a crash re-derives the same ids.
    """

    org_id: str
    connector: str
    poll_id: str
    observed_at: datetime


@dataclass(frozen=True, slots=True)
class SnapshotUser:
    """One member as a listing showed them; ``None`` fields are unknown to that source."""

    id: str
    email: str
    name: str | None = None
    role: str | None = None
    workspaces: dict[str, str] | None = None
    added_at: datetime | None = None
    groups: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class RosterSnapshot:
    """The members one poll saw, and whether the listing may be trusted for removals.

    ``complete``: every page was fetched, no error, no cursor restart. ``source``: ROSTER (the
    member list; absence from a complete one means removal) or ANALYTICS (engagement data;
    absence means nothing). ``deleted``: user ids the API explicitly flagged as no longer
    members (``actor.deleted``), honoured from complete snapshots of any source.
    """

    users: Mapping[str, SnapshotUser]
    complete: bool
    source: Source = Source.ROSTER
    deleted: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(
        cls,
        users: Iterable[SnapshotUser],
        *,
        complete: bool,
        source: Source = Source.ROSTER,
        deleted: Iterable[str] = (),
    ) -> RosterSnapshot:
        """A snapshot from a sequence of users (a user listed twice keeps its last row)."""
        return cls({user.id: user for user in users}, complete, source, frozenset(deleted))

    @property
    def lists_everyone(self) -> bool:
        """True when absence from this (complete) listing means the member left."""
        return self.source is Source.ROSTER


@dataclass(frozen=True, slots=True)
class UsageObservation:
    """The API's current values of one member, day and metric family (COST in micro-cents)."""

    user_id: str
    day: date
    family: MetricFamily
    values: Mapping[str, int]
    source: Source
    email: str | None = None
    actor_type: str = USER_ACTOR
    """``user_actor`` for a member; API keys, service accounts and federated identities are
    other actors, keyed by their own id in ``user_id``."""


@dataclass(frozen=True, slots=True)
class ObservedAssociation:
    """A member seen using a surface or connector on a day, with the auth kind when known."""

    user_id: str
    kind: AppKind
    name: str
    auth: AuthKind
    day: date
    source: Source
    email: str | None = None
    display_name: str | None = None


def cents_to_micros(cents: str | int | Decimal) -> int:
    """A USD cent amount (the API's decimal string, e.g. ``"8812.500000"``) in micro-cents.

    Exact: raises ``ValueError`` for a value that is not a number or has more than six
    decimal places, rather than rounding money.
    """
    try:
        amount = Decimal(cents) if not isinstance(cents, Decimal) else cents
    except InvalidOperation:
        raise ValueError(f"not a cent amount: {cents!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not a cent amount: {cents!r}")
    micros = amount * MICROS_PER_CENT
    if micros != micros.to_integral_value():
        raise ValueError(f"cent amount has more than 6 decimal places: {cents!r}")
    return int(micros)
