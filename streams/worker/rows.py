"""The rows of every worker table, one typed definition each, and their JSON encoding.

Rows are frozen dataclasses of JSON values (times and days as ISO text, enums by name), so
``RowJson`` writes them as they are (the changelogs, the views) and ``RowCodec`` reads them
back (msgspec, strict: a misspelt or missing field fails at once). A row is replaced, never
mutated, so a Faust table writes its changelog.

=================== ============================ =================================
table               key                          row
=================== ============================ =================================
``users``           ``org:user``                 ``UserRow``
``usage``           ``org:user``                 ``UsageRow`` (the days with usage)
``usage_days``      ``org:user:YYYY-MM-DD``      ``UsageDayRow`` (totals per family)
``org_days``        ``{partition}/{org}:YYYY-MM-DD`` ``OrgDayRow`` (the day's figures)
``invites``         ``org:invite``               ``InviteRow`` (an invitation's status)
``associations``    ``org:user``                 ``AssociationsRow``
``alerts``          ``org:user``                 ``AlertsRow``
``directory``       ``{partition}/{org}:{email}`` ``DirectoryRow``
``directory_orgs``  ``{partition}/{org}``        ``DirectoryOrgRow``
``identities``      ``{partition}/{org}:{email}`` ``IdentityRow`` (e-mail without +tag)
``status``          ``org:connector``            ``StatusRow``
``org_signals``     ``{partition}/{org}:{signal}`` ``OrgSignalRow`` (``connector:NAME`` on
                    managed auth, ``login:sso``)
``decisions``       alert id                     ``DecisionRow`` (the latest decision)
``activity``        ``org:user`` (or ``org``)    ``ActivityRow`` (Activity Feed facts)
``spend_limits``    ``org:user``                 ``SpendLimitRow`` (the newest reading)
=================== ============================ =================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec
from faust.serializers.codecs import Codec

from streams.events.records import USER_ACTOR

MEMBER = "member"
REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class UserRow:
    """A member of an organisation, current (``status`` member) or removed."""

    org_id: str
    user_id: str
    email: str
    name: str | None
    role: str | None
    workspaces: dict[str, str]
    added_at: str | None
    status: str
    first_seen: str
    last_seen: str
    baseline: bool
    connector: str
    source: str
    partition: int
    applied: tuple[str, ...]
    """The newest applied event ids (a redelivered event is dropped)."""
    groups: dict[str, str] = field(default_factory=dict)
    """RBAC group id → group name (Enterprise; empty when unknown)."""


@dataclass(frozen=True, slots=True)
class UsageRow:
    """The days a member has usage for (written only when one of these changes)."""

    org_id: str
    user_id: str
    email: str | None
    partition: int
    first_day: str
    last_day: str
    last_active_day: str | None
    spend_micros: int = 0
    """Spend over every day (USD micro-cents), kept as days are revised."""
    ledger: tuple[tuple[str, int, int], ...] = ()
    """One entry per day with usage, by day: ``(day, spend through it, active days through
    it)``, so a window's spend and activity are two look-ups (``streams.worker.dayfold``)."""
    actor_type: str = USER_ACTOR
    """Whose usage: a member (``user_actor``), an API key, a service account, ..."""


@dataclass(frozen=True, slots=True)
class FamilyTotals:
    """One metric family's latest revision of a day (COST values are USD micro-cents)."""

    revision: int
    totals: dict[str, int]
    baseline: bool


@dataclass(frozen=True, slots=True)
class UsageDayRow:
    """A member's day: the latest totals per metric family."""

    families: dict[str, FamilyTotals]


@dataclass(frozen=True, slots=True)
class OrgDayRow:
    """An organisation's day in one partition: spend per series (USD micro-cents), tokens,
    and members active (``any`` and per surface used by then), kept as usage is applied."""

    org_id: str
    day: str
    partition: int
    spend_micros: dict[str, int]
    tokens: int
    active: dict[str, int]


@dataclass(frozen=True, slots=True)
class InviteRow:
    """An invitation as its newest event says it is (``removed`` once deleted)."""

    org_id: str
    invite_id: str
    partition: int
    status: str


@dataclass(frozen=True, slots=True)
class AssociationItem:
    """A surface or connector a member uses, with how it was authorised."""

    kind: str
    name: str
    display_name: str | None
    auth: str
    first_seen: str
    baseline: bool
    connector: str
    event_id: str


@dataclass(frozen=True, slots=True)
class AssociationsRow:
    """A member's associations by ``KIND/name/AUTH`` (the first one seen wins)."""

    org_id: str
    user_id: str
    partition: int
    items: dict[str, AssociationItem]


@dataclass(frozen=True, slots=True)
class OpenAlert:
    """An open alert as the alerts row keeps it."""

    alert_id: str
    event_id: str
    severity: str
    evidence: dict[str, str]
    baseline: bool
    opened_at: str
    cause_event_id: str


@dataclass(frozen=True, slots=True)
class ResolvedAlert(OpenAlert):
    """A resolved alert: the open one, its reason, when and by which event it resolved."""

    reason: str
    resolved_at: str
    resolve_event_id: str


@dataclass(frozen=True, slots=True)
class AlertsRow:
    """A member's open alerts by reason, the newest resolved ones, and how many alerts were
    opened so far per reason (``raised`` numbers the alert ids, see ``rules.alert_id_for``)."""

    org_id: str
    user_id: str
    email: str | None
    partition: int
    open: dict[str, OpenAlert]
    resolved: tuple[ResolvedAlert, ...]
    raised: dict[str, int]


@dataclass(frozen=True, slots=True)
class DirectoryRow:
    """A managed identity in one partition's copy of the directory."""

    org_id: str
    email: str
    employee_id: str | None
    name: str | None
    status: str
    source: str | None
    updated_at: str


@dataclass(frozen=True, slots=True)
class DirectoryOrgRow:
    """How many directory records an organisation has in one partition's copy."""

    org_id: str
    records: int


@dataclass(frozen=True, slots=True)
class IdentityRow:
    """The members with one address (without +tag) in one partition."""

    users: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OrgSignalRow:
    """Something seen once about an organisation in one partition's members: a connector on
    managed auth (``connector:NAME``), a sign-in with SSO (``login:sso``)."""

    org_id: str
    signal: str
    first_event_id: str


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """The latest triage decision on an alert (``streams.worker.decisions``)."""

    alert_id: str
    org_id: str
    user_id: str
    partition: int
    action: str
    decided_by: str
    why: str | None
    until: str | None
    severity: str
    reasons: tuple[str, ...]
    decided_at: str
    event_id: str


@dataclass(frozen=True, slots=True)
class StatusRow:
    """A connector's latest status."""

    org_id: str
    connector: str
    state: str
    previous_state: str | None
    reason: str | None
    baseline_complete: bool
    last_success: dict[str, str | None]
    failing: dict[str, str]
    poll_id: str | None
    observed_at: str | None
    event_id: str
    applied: tuple[str, ...]
    feed_reconciliation: dict[str, int] = field(default_factory=dict)
    """The Activity Feed's confirmed / contradicted / snapshot_only counters."""


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """What the Activity Feed said about one member (``streams.events.activity_facts``): last
    login, connectors, last role change, keys they created; keyed ``org``, keys created by a
    non-member actor."""

    org_id: str
    partition: int
    last_login_at: str | None
    last_login_method: str | None
    connectors: dict[str, dict[str, Any]]
    role_change: dict[str, Any] | None
    keys_created: dict[str, dict[str, Any]]
    keys_deleted: dict[str, str] = field(default_factory=dict)
    """Key id → when it was deleted, for deletions seen before the key's creation."""


@dataclass(frozen=True, slots=True)
class SpendLimitRow:
    """A member's newest effective spend limits (the SPEND_LIMIT totals of its newest day and
    revision): per period ``P.spend_micros``, ``P.limit_micros``, ``P.increase_requested``."""

    org_id: str
    user_id: str
    partition: int
    day: str
    revision: int
    totals: dict[str, int]
    event_id: str


R = TypeVar("R")


class RowJson:
    """Rows and keys as JSON, each in bytes of their own length.

    msgspec's encoder writes these dataclasses in about a third of orjson's time (the same
    bytes); writing into one reused buffer and copying it out keeps each result at its own
    length (a fresh result of the encoder took about 1.5 times the length of a row, and a
    batch keeps tens of thousands of them until Kafka has them). Not for concurrent use from
    threads.
    """

    def __init__(self) -> None:
        self._encoder = msgspec.json.Encoder()
        self._buffer = bytearray()

    def __call__(self, value: Any) -> bytes:
        self._encoder.encode_into(value, self._buffer)
        return bytes(self._buffer)


class RowCodec(Codec, Generic[R]):
    """A Faust value codec for one row type: ``RowJson`` out, msgspec (strict) in."""

    def __init__(self, children: tuple[Codec, ...] | None = None, *, row_type: type[R]) -> None:
        super().__init__(children, row_type=row_type)
        self.row_type = row_type
        self._decoder = msgspec.json.Decoder(row_type)
        self._encode = RowJson()

    def _dumps(self, row: Any) -> bytes:
        return self._encode(row)

    def _loads(self, data: bytes) -> R:
        decoded: R = self._decoder.decode(data)
        return decoded
