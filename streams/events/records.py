"""Typed records mirroring ``schemas/*.avsc``, with ``to_avro()`` / ``from_avro()`` dict conversion.

Every class is a frozen, slotted dataclass whose fields have the names and the order of its
Avro record; every enum is a ``StrEnum`` whose members are the Avro symbols (name == value).
Timestamps are timezone-aware UTC ``datetime`` values (``timestamp-millis``), days are
``date`` values (``date``). Map fields hold plain dicts: treat them as read-only.
``tests/unit/events/test_records.py`` checks that classes and schemas stay in step.

The conversion to and from the dicts fastavro reads and writes is generated once per class from
its type hints (enums, nested records, optionals, tuples), so no class repeats it by hand.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Self, TypeVar, Union, get_args, get_origin, get_type_hints

Converter = Callable[[Any], Any]


class AvroRecord:
    """Base of every record: ``to_avro()`` gives the dict Avro writers take, ``from_avro()`` back.

    ``@avro_record`` generates both methods for each record class.
    """

    __slots__ = ()

    SCHEMA: ClassVar[str]
    """Full Avro name of the record, e.g. ``com.claudeconnector.events.UserEvent``."""

    def to_avro(self) -> dict[str, Any]:
        """The record as the dict an Avro writer expects."""
        raise NotImplementedError(f"{type(self).__name__} is not bound to a schema")

    @classmethod
    def from_avro(cls, datum: Mapping[str, Any]) -> Self:
        """Build the record from the dict an Avro reader returned."""
        raise NotImplementedError(f"{cls.__name__} is not bound to a schema")


R = TypeVar("R", bound=AvroRecord)

RECORD_TYPES: dict[str, type[AvroRecord]] = {}
"""Every record class by its full Avro name (nested ones included)."""


def _converters(hint: Any) -> tuple[Converter | None, Converter | None]:
    """(to_avro, from_avro) converters for one type hint; ``None`` where the value passes as is."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        (inner,) = [arg for arg in get_args(hint) if arg is not type(None)]
        encode, decode = _converters(inner)
        return (
            None if encode is None else lambda value: None if value is None else encode(value),
            None if decode is None else lambda value: None if value is None else decode(value),
        )
    if origin is tuple:
        encode, decode = _converters(get_args(hint)[0])
        return (
            list if encode is None else lambda value: [encode(item) for item in value],
            tuple if decode is None else lambda value: tuple(decode(item) for item in value),
        )
    if origin in (dict, Mapping):
        encode, decode = _converters(get_args(hint)[1])
        return (
            None if encode is None else lambda value: {k: encode(v) for k, v in value.items()},
            None if decode is None else lambda value: {k: decode(v) for k, v in value.items()},
        )
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        # Members are str (name == value), so writers take them as is; reading maps a symbol
        # back with a dict lookup, much cheaper than calling the enum class.
        return None, dict(hint.__members__).__getitem__
    if isinstance(hint, type) and issubclass(hint, AvroRecord):
        return hint.to_avro, hint.from_avro
    if hint in (str, int, bool, float, datetime, date):
        return None, None
    raise TypeError(f"no Avro conversion for {hint!r}")


def avro_record(schema: str) -> Callable[[type[R]], type[R]]:
    """Bind a dataclass to the Avro record named ``schema`` and generate its conversions.

    Like ``dataclasses`` does for ``__init__``, the two methods are compiled from source built
    from the field list (``{"id": self.id, "op": self.op, ...}`` and ``cls(d["id"], ...)``),
    calling a converter only for fields that need one: about twice as fast as a generic loop,
    which matters because the worker converts every message it reads.
    """

    def bind(cls: type[R]) -> type[R]:
        hints = get_type_hints(cls)
        namespace: dict[str, Any] = {}
        encoded, decoded = [], []
        for position, item in enumerate(fields(cls)):  # type: ignore[arg-type]
            encode, decode = _converters(hints[item.name])
            value, raw = f"self.{item.name}", f"datum[{item.name!r}]"
            if encode is not None:
                namespace[f"encode{position}"] = encode
                value = f"encode{position}({value})"
            if decode is not None:
                namespace[f"decode{position}"] = decode
                raw = f"decode{position}({raw})"
            encoded.append(f"{item.name!r}: {value}")
            decoded.append(raw)
        source = (
            f"def to_avro(self):\n    return {{{', '.join(encoded)}}}\n"
            f"def from_avro(cls, datum):\n    return cls({', '.join(decoded)})\n"
        )
        exec(compile(source, f"<avro_record {schema}>", "exec"), namespace)
        cls.to_avro = namespace["to_avro"]  # type: ignore[method-assign]
        cls.from_avro = classmethod(namespace["from_avro"])  # type: ignore[method-assign,assignment]
        cls.SCHEMA = schema
        RECORD_TYPES[schema] = cls
        return cls

    return bind


NAMESPACE = "com.claudeconnector.events"


# --- enums (members are the Avro symbols; UNKNOWN is the schema default where there is one) ---


class UserOp(StrEnum):
    """What happened to a member (no default symbol on purpose; see the schema)."""

    SNAPSHOT = "SNAPSHOT"
    ADDED = "ADDED"
    REMOVED = "REMOVED"
    UPDATED = "UPDATED"


class InventoryOp(StrEnum):
    """What happened to an item of an inventory (an API key, an invitation)."""

    UNKNOWN = "UNKNOWN"
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    REMOVED = "REMOVED"


USER_ACTOR = "user_actor"
"""The ``actor_type`` of a member's usage (the others name non-member actors)."""

SPEND_METRIC = "usd_micros"
"""The COST metric of the day's spend (USD micro-cents)."""
PRODUCT_SPEND = SPEND_METRIC + "."
"""COST totals split ``usd_micros`` by product where the source names it: one metric
``usd_micros.<product>`` per product (what no product claims is unsplit)."""


def product_spend_metric(product: str) -> str:
    """The COST metric of one product's spend."""
    return PRODUCT_SPEND + product


def spend_by_product(totals: Mapping[str, int]) -> dict[str, int]:
    """Product -> spend (USD micro-cents) of a COST totals map."""
    return {name.removeprefix(PRODUCT_SPEND): value for name, value in totals.items()
            if name.startswith(PRODUCT_SPEND)}


class Source(StrEnum):
    """Which API listing produced an observation."""

    UNKNOWN = "UNKNOWN"
    ROSTER = "ROSTER"
    ANALYTICS = "ANALYTICS"
    USAGE_REPORT = "USAGE_REPORT"
    COST_REPORT = "COST_REPORT"
    CLAUDE_CODE_REPORT = "CLAUDE_CODE_REPORT"
    ACTIVITY_FEED = "ACTIVITY_FEED"
    USAGE_ANALYTICS = "USAGE_ANALYTICS"
    COST_ANALYTICS = "COST_ANALYTICS"
    SPEND_LIMITS = "SPEND_LIMITS"


class MetricFamily(StrEnum):
    """Metrics observed together; COST values are USD micro-cents, the others counts."""

    UNKNOWN = "UNKNOWN"
    MESSAGES = "MESSAGES"
    SESSIONS = "SESSIONS"
    TOKENS = "TOKENS"
    COST = "COST"
    CLAUDE_CODE = "CLAUDE_CODE"
    SPEND_LIMIT = "SPEND_LIMIT"
    """A member's effective spend limit and spend so far per period (not usage: not summed)."""


class AppKind(StrEnum):
    """A Claude surface or a third-party connector."""

    UNKNOWN = "UNKNOWN"
    SURFACE = "SURFACE"
    CONNECTOR = "CONNECTOR"


class AuthKind(StrEnum):
    """How access to a connector was authorised."""

    UNKNOWN = "UNKNOWN"
    ORG_MANAGED = "ORG_MANAGED"
    PERSONAL_CREDENTIAL = "PERSONAL_CREDENTIAL"


class ConnectorState(StrEnum):
    """Health of a connector, plus the BASELINE_COMPLETE marker and the final DELETED."""

    UNKNOWN = "UNKNOWN"
    HEALTHY = "HEALTHY"
    PARTIAL = "PARTIAL"
    DEGRADED = "DEGRADED"
    RECONNECT_REQUIRED = "RECONNECT_REQUIRED"
    RECOVERED = "RECOVERED"
    BASELINE_COMPLETE = "BASELINE_COMPLETE"
    DELETED = "DELETED"


class AlertState(StrEnum):
    """Lifecycle of a shadow-IT alert."""

    UNKNOWN = "UNKNOWN"
    OPENED = "OPENED"
    RESOLVED = "RESOLVED"


class AlertReason(StrEnum):
    """The shadow-IT rule that fired."""

    UNKNOWN = "UNKNOWN"
    UNMANAGED_IDENTITY = "UNMANAGED_IDENTITY"
    PERSONAL_DOMAIN = "PERSONAL_DOMAIN"
    DEPROVISIONED_ACTIVE = "DEPROVISIONED_ACTIVE"
    PERSONAL_CREDENTIAL_CONNECTOR = "PERSONAL_CREDENTIAL_CONNECTOR"
    SPEND_SPIKE = "SPEND_SPIKE"
    SSO_BYPASS_LOGIN = "SSO_BYPASS_LOGIN"
    PRIVILEGE_GRANTED = "PRIVILEGE_GRANTED"
    ADMIN_CREDENTIAL_CREATED = "ADMIN_CREDENTIAL_CREATED"
    ORPHANED_CREDENTIAL = "ORPHANED_CREDENTIAL"
    SPEND_LIMIT_NEAR = "SPEND_LIMIT_NEAR"
    PERSONAL_INVITE = "PERSONAL_INVITE"


class Severity(StrEnum):
    """How urgent an alert is."""

    UNKNOWN = "UNKNOWN"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


class StateKind(StrEnum):
    """Which branch of a ``PollerState`` entry is set."""

    UNKNOWN = "UNKNOWN"
    MEMBER = "MEMBER"
    USAGE = "USAGE"
    ASSOCIATION = "ASSOCIATION"
    CURSOR = "CURSOR"
    CREDENTIAL = "CREDENTIAL"
    INVITE = "INVITE"


class DirectoryStatus(StrEnum):
    """Whether the company directory still manages an identity."""

    UNKNOWN = "UNKNOWN"
    ACTIVE = "ACTIVE"
    DEPROVISIONED = "DEPROVISIONED"


# --- records ---


@avro_record(f"{NAMESPACE}.UserImage")
@dataclass(frozen=True, slots=True)
class UserImage(AvroRecord):
    """One member as the connector knows them (``before`` / ``after`` of a user event)."""

    id: str
    email: str
    name: str | None = None
    role: str | None = None
    workspaces: dict[str, str] = field(default_factory=dict)
    added_at: datetime | None = None
    groups: dict[str, str] = field(default_factory=dict)


@avro_record(f"{NAMESPACE}.ChangeActor")
@dataclass(frozen=True, slots=True)
class ChangeActor(AvroRecord):
    """Who made a member change (from the Activity Feed): actor kind, its id, member e-mail."""

    type: str
    id: str | None = None
    email: str | None = None


@avro_record(f"{NAMESPACE}.UserEvent")
@dataclass(frozen=True, slots=True)
class UserEvent(AvroRecord):
    """SNAPSHOT / ADDED / REMOVED / UPDATED of one member."""

    event_id: str
    op: UserOp
    org_id: str
    user_id: str
    before: UserImage | None
    after: UserImage | None
    changed_fields: tuple[str, ...]
    baseline: bool
    source: Source
    connector: str
    poll_id: str
    observed_at: datetime
    actor: ChangeActor | None = None


@avro_record(f"{NAMESPACE}.CredentialImage")
@dataclass(frozen=True, slots=True)
class CredentialImage(AvroRecord):
    """One API key of a Console organisation as the connector knows it (never the secret)."""

    id: str
    name: str
    status: str
    created_at: datetime | None = None
    scope: str | None = None
    workspace_id: str | None = None
    principal_type: str | None = None
    principal_id: str | None = None
    created_by_type: str | None = None
    created_by_id: str | None = None
    partial_key_hint: str | None = None


@avro_record(f"{NAMESPACE}.CredentialEvent")
@dataclass(frozen=True, slots=True)
class CredentialEvent(AvroRecord):
    """CREATED / UPDATED / REMOVED of one API key (the key inventory as change events)."""

    event_id: str
    op: InventoryOp
    org_id: str
    key_id: str
    credential: CredentialImage
    changed_fields: tuple[str, ...]
    baseline: bool
    connector: str
    poll_id: str
    observed_at: datetime


@avro_record(f"{NAMESPACE}.InviteImage")
@dataclass(frozen=True, slots=True)
class InviteImage(AvroRecord):
    """One invitation to the organisation as the connector knows it."""

    id: str
    email: str
    role: str
    status: str
    invited_at: datetime | None = None
    expires_at: datetime | None = None
    accepted_at: datetime | None = None


@avro_record(f"{NAMESPACE}.InviteEvent")
@dataclass(frozen=True, slots=True)
class InviteEvent(AvroRecord):
    """CREATED / UPDATED / REMOVED of one invitation (pending, accepted, expired, deleted)."""

    event_id: str
    op: InventoryOp
    org_id: str
    invite_id: str
    invite: InviteImage
    changed_fields: tuple[str, ...]
    baseline: bool
    connector: str
    poll_id: str
    observed_at: datetime


@avro_record(f"{NAMESPACE}.UsageDelta")
@dataclass(frozen=True, slots=True)
class UsageDelta(AvroRecord):
    """Usage of one member (or non-member actor), day and metric family: change since the last
    revision and new totals."""

    event_id: str
    org_id: str
    user_id: str
    email: str | None
    day: date
    family: MetricFamily
    delta: dict[str, int]
    totals: dict[str, int]
    revision: int
    baseline: bool
    source: Source
    connector: str
    poll_id: str
    observed_at: datetime
    actor_type: str = USER_ACTOR


@avro_record(f"{NAMESPACE}.AppAssociation")
@dataclass(frozen=True, slots=True)
class AppAssociation(AvroRecord):
    """First use of a Claude surface or third-party connector by a member, per auth kind."""

    event_id: str
    org_id: str
    user_id: str
    email: str | None
    kind: AppKind
    name: str
    display_name: str | None
    auth: AuthKind
    first_seen: date
    baseline: bool
    source: Source
    connector: str
    poll_id: str
    observed_at: datetime


@avro_record(f"{NAMESPACE}.ConnectorStatus")
@dataclass(frozen=True, slots=True)
class ConnectorStatus(AvroRecord):
    """A change of a connector's health (emitted on change)."""

    event_id: str
    org_id: str
    connector: str
    state: ConnectorState
    previous_state: ConnectorState | None
    reason: str | None
    baseline_complete: bool
    last_success: dict[str, datetime]
    failing: dict[str, str]
    poll_id: str
    observed_at: datetime
    feed_reconciliation: dict[str, int] = field(default_factory=dict)


@avro_record(f"{NAMESPACE}.ShadowItAlert")
@dataclass(frozen=True, slots=True)
class ShadowItAlert(AvroRecord):
    """A shadow-IT alert opened or resolved by the worker."""

    event_id: str
    alert_id: str
    org_id: str
    user_id: str
    email: str | None
    state: AlertState
    reason: AlertReason
    severity: Severity
    evidence: dict[str, str]
    baseline: bool
    connector: str | None
    cause_event_id: str | None
    opened_at: datetime
    observed_at: datetime


class DecisionAction(StrEnum):
    """What a triage decision says about an alert."""

    UNKNOWN = "UNKNOWN"
    ACK = "ACK"
    SNOOZE = "SNOOZE"
    ACCEPT = "ACCEPT"
    REOPEN = "REOPEN"


@avro_record(f"{NAMESPACE}.AlertDecision")
@dataclass(frozen=True, slots=True)
class AlertDecision(AvroRecord):
    """A triage decision on one alert (topic ``alert-decisions``, key: the alert id)."""

    event_id: str
    alert_id: str
    org_id: str
    user_id: str
    action: DecisionAction
    decided_by: str
    why: str | None
    until: datetime | None
    severity: str
    reasons: tuple[str, ...]
    observed_at: datetime


@avro_record(f"{NAMESPACE}.DirectoryRecord")
@dataclass(frozen=True, slots=True)
class DirectoryRecord(AvroRecord):
    """A managed identity from the company directory (input topic, key ``org:email``)."""

    org_id: str
    email: str
    employee_id: str | None
    name: str | None
    status: DirectoryStatus
    source: str | None
    updated_at: datetime


@avro_record(f"{NAMESPACE}.MemberState")
@dataclass(frozen=True, slots=True)
class MemberState(AvroRecord):
    """A committed member, and whether the drop guard holds their removal."""

    user: UserImage
    pending_removal: bool = False


@avro_record(f"{NAMESPACE}.UsageTotalsState")
@dataclass(frozen=True, slots=True)
class UsageTotalsState(AvroRecord):
    """The last emitted totals (and revision) of one member, day and metric family."""

    user_id: str
    email: str | None
    day: date
    family: MetricFamily
    revision: int
    totals: dict[str, int]


@avro_record(f"{NAMESPACE}.AssociationState")
@dataclass(frozen=True, slots=True)
class AssociationState(AvroRecord):
    """An association already announced."""

    user_id: str
    kind: AppKind
    name: str
    auth: AuthKind
    first_seen: date


@avro_record(f"{NAMESPACE}.CursorState")
@dataclass(frozen=True, slots=True)
class CursorState(AvroRecord):
    """Progress of one data type of a connector (``data_type='connector'``: cycle and status)."""

    data_type: str
    cycle: int
    last_success: datetime | None = None
    baseline_complete: bool = False
    status: ConnectorState | None = None
    watermark: str | None = None


@avro_record(f"{NAMESPACE}.PollerState")
@dataclass(frozen=True, slots=True)
class PollerState(AvroRecord):
    """One entry of the poller's committed state; exactly the branch named by ``kind`` is set."""

    org_id: str
    connector: str
    kind: StateKind
    member: MemberState | None
    usage: UsageTotalsState | None
    association: AssociationState | None
    cursor: CursorState | None
    poll_id: str
    updated_at: datetime
    credential: CredentialImage | None = None
    invite: InviteImage | None = None


@avro_record(f"{NAMESPACE}.ActivityActor")
@dataclass(frozen=True, slots=True)
class ActivityActor(AvroRecord):
    """Who did an activity: its kind, the kind's typed fields, the rest as JSON text."""

    type: str
    user_id: str | None = None
    email_address: str | None = None
    ip_address: str | None = None
    user_agent: str | None = None
    api_key_id: str | None = None
    admin_api_key_id: str | None = None
    service_account_id: str | None = None
    directory_id: str | None = None
    idp_connection_type: str | None = None
    service: str | None = None
    issuer: str | None = None
    subject: str | None = None
    unauthenticated_email_address: str | None = None
    details_json: str = "{}"


@avro_record(f"{NAMESPACE}.Activity")
@dataclass(frozen=True, slots=True)
class Activity(AvroRecord):
    """One Compliance Activity Feed row (type-specific fields as JSON text in ``details_json``)."""

    id: str
    created_at: datetime
    type: str
    org_id: str
    organization_id: str | None
    organization_uuid: str | None
    actor: ActivityActor
    target_user_id: str | None
    target_email: str | None
    details_json: str
    connector: str
    poll_id: str
    observed_at: datetime
