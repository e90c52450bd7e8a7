"""Typed rows parsed from API responses; unknown fields are ignored, missing or ill-typed
required fields raise ``RowError`` (the listing turns it into ``ApiResponseError``).

Where the documentation disagrees, both spellings are read: summaries rows carry
``starting_at``/``ending_at`` or ``starting_date``/``ending_date``; report actors carry
``email_address`` (SDK) or ``email`` (reference pages); ``science_metrics`` was once
``bioscience_metrics``. Money is cents as ``Decimal``, never float.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Generic, Self, TypeVar


class RowError(ValueError):
    """A row misses a required field or has a field of the wrong type."""


Row = Mapping[str, Any]


def _raw(row: Row, key: str, optional: bool) -> Any:
    if not isinstance(row, Mapping):
        raise RowError(f"expected an object, got {type(row).__name__}")
    value = row.get(key)
    if value is None and not optional:
        raise RowError(f"missing required field {key!r}")
    return value


def _str(row: Row, key: str) -> str:
    value = _raw(row, key, False)
    if not isinstance(value, str):
        raise RowError(f"{key!r} must be a string, got {type(value).__name__}")
    return value


def _opt_str(row: Row, key: str) -> str | None:
    return None if _raw(row, key, True) is None else _str(row, key)


def _int(row: Row, key: str) -> int:
    value = _raw(row, key, False)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RowError(f"{key!r} must be an integer, got {type(value).__name__}")
    return value


def _opt_int(row: Row, key: str) -> int | None:
    return None if _raw(row, key, True) is None else _int(row, key)


def _bool(row: Row, key: str) -> bool:
    value = _raw(row, key, False)
    if not isinstance(value, bool):
        raise RowError(f"{key!r} must be a boolean, got {type(value).__name__}")
    return value


def _obj(row: Row, key: str) -> Row:
    value = _raw(row, key, False)
    if not isinstance(value, Mapping):
        raise RowError(f"{key!r} must be an object, got {type(value).__name__}")
    return value


def _opt_obj(row: Row, key: str) -> Row | None:
    return None if _raw(row, key, True) is None else _obj(row, key)


def parse_datetime(value: object, name: str = "timestamp") -> datetime:
    """An RFC 3339 timestamp (``Z`` or an offset) as an aware datetime."""
    if not isinstance(value, str):
        raise RowError(f"{name!r} must be an RFC 3339 string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise RowError(f"{name!r} is not an RFC 3339 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        raise RowError(f"{name!r} has no timezone: {value!r}")
    return parsed


def _datetime(row: Row, key: str) -> datetime:
    return parse_datetime(_raw(row, key, False), key)


def _opt_datetime(row: Row, key: str) -> datetime | None:
    return None if _raw(row, key, True) is None else _datetime(row, key)


def _date(row: Row, key: str) -> date:
    value = _str(row, key)
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise RowError(f"{key!r} is not a YYYY-MM-DD date: {value!r}") from None


def _opt_date(row: Row, key: str) -> date | None:
    return None if _raw(row, key, True) is None else _date(row, key)


def parse_cents(value: object, name: str = "amount") -> Decimal:
    """A money amount in cents as ``Decimal``: decimal strings (documented) or JSON numbers."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RowError(f"{name!r} must be a decimal string, got {type(value).__name__}")
    try:
        amount = Decimal(value if isinstance(value, str) else repr(value))
    except InvalidOperation:
        raise RowError(f"{name!r} is not a decimal amount: {value!r}") from None
    if not amount.is_finite():
        raise RowError(f"{name!r} is not a finite amount: {value!r}")
    return amount


def _cents(row: Row, key: str) -> Decimal:
    return parse_cents(_raw(row, key, False), key)


def _opt_cents(row: Row, key: str) -> Decimal | None:
    return None if _raw(row, key, True) is None else _cents(row, key)


def _flatten_counts(
    block: Row, prefix: str, into: dict[str, int | None], unparsed: list[str]
) -> None:
    """Dotted counts of ``block`` into ``into``; names of values that are not counts into
    ``unparsed`` (a float, a string, a list: the rest of the block still counts)."""
    for key, value in block.items():
        kind = type(value)
        if kind is int or value is None:
            into[prefix + key] = value
        elif kind is dict or isinstance(value, Mapping):
            _flatten_counts(value, f"{prefix}{key}.", into, unparsed)
        else:
            unparsed.append(f"{prefix}{key}")


# --- Admin API --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Organization:
    """``GET /v1/organizations/me``."""

    id: str
    name: str

    @classmethod
    def from_api(cls, row: Row) -> Organization:
        return cls(id=_str(row, "id"), name=_str(row, "name"))


@dataclass(frozen=True, slots=True)
class Member:
    """One organisation member (``/v1/organizations/users``)."""

    id: str
    email: str
    name: str
    role: str
    added_at: datetime

    @classmethod
    def from_api(cls, row: Row) -> Member:
        return cls(
            id=_str(row, "id"),
            email=_str(row, "email"),
            name=_str(row, "name"),
            role=_str(row, "role"),
            added_at=_datetime(row, "added_at"),
        )


@dataclass(frozen=True, slots=True)
class Invite:
    """One invitation (``/v1/organizations/invites``)."""

    id: str
    email: str
    role: str
    status: str
    invited_at: datetime
    expires_at: datetime | None
    accepted_at: datetime | None

    @classmethod
    def from_api(cls, row: Row) -> Invite:
        return cls(
            id=_str(row, "id"),
            email=_str(row, "email"),
            role=_str(row, "role"),
            status=_str(row, "status"),
            invited_at=_datetime(row, "invited_at"),
            expires_at=_opt_datetime(row, "expires_at"),
            accepted_at=_opt_datetime(row, "accepted_at"),
        )


@dataclass(frozen=True, slots=True)
class Workspace:
    """One Console workspace (``/v1/organizations/workspaces``)."""

    id: str
    name: str
    created_at: datetime
    archived_at: datetime | None

    @classmethod
    def from_api(cls, row: Row) -> Workspace:
        return cls(
            id=_str(row, "id"),
            name=_str(row, "name"),
            created_at=_datetime(row, "created_at"),
            archived_at=_opt_datetime(row, "archived_at"),
        )


@dataclass(frozen=True, slots=True)
class WorkspaceMember:
    """A user's membership of a workspace."""

    workspace_id: str
    user_id: str
    workspace_role: str

    @classmethod
    def from_api(cls, row: Row) -> WorkspaceMember:
        return cls(
            workspace_id=_str(row, "workspace_id"),
            user_id=_str(row, "user_id"),
            workspace_role=_str(row, "workspace_role"),
        )


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """Metadata of one Console API key (never the key itself).

    ``scope`` is ``workspace`` or ``organization``; older answers carried a top-level
    ``workspace_id`` instead, and a ``principal`` of ``{id, type}``.
    """

    id: str
    name: str
    status: str
    created_at: datetime
    workspace_id: str | None
    created_by_id: str | None
    principal_id: str | None
    partial_key_hint: str | None
    scope: str | None = None
    principal_type: str | None = None
    created_by_type: str | None = None

    @classmethod
    def from_api(cls, row: Row) -> ApiKeyInfo:
        created_by = _opt_obj(row, "created_by")
        principal = _opt_obj(row, "principal")
        scope = _opt_obj(row, "scope")
        workspace_id = _opt_str(row, "workspace_id")
        if workspace_id is None and scope is not None:
            workspace_id = _opt_str(scope, "workspace_id")
        return cls(
            id=_str(row, "id"),
            name=_str(row, "name"),
            status=_str(row, "status"),
            created_at=_datetime(row, "created_at"),
            workspace_id=workspace_id,
            created_by_id=None if created_by is None else _str(created_by, "id"),
            principal_id=None
            if principal is None
            else _opt_str(principal, "user_id")
            or _opt_str(principal, "service_account_id")
            or _opt_str(principal, "id"),
            partial_key_hint=_opt_str(row, "partial_key_hint"),
            scope=None if scope is None else _str(scope, "type"),
            principal_type=None if principal is None else _opt_str(principal, "type"),
            created_by_type=None if created_by is None else _opt_str(created_by, "type"),
        )


@dataclass(frozen=True, slots=True)
class RbacGroup:
    """One group of an Enterprise organisation (``/v1/organizations/rbac_groups``)."""

    id: str
    name: str
    source_type: str

    @classmethod
    def from_api(cls, row: Row) -> RbacGroup:
        return cls(id=_str(row, "id"), name=_str(row, "name"), source_type=_str(row, "source_type"))


@dataclass(frozen=True, slots=True)
class RbacGroupMember:
    """A member of a group; older answers named the group ``group_id``."""

    rbac_group_id: str
    user_id: str
    email: str

    @classmethod
    def from_api(cls, row: Row) -> RbacGroupMember:
        group = _opt_str(row, "rbac_group_id") or _str(row, "group_id")
        return cls(rbac_group_id=group, user_id=_str(row, "user_id"), email=_str(row, "email"))


# --- Analytics API: engagement ------------------------------------------------------------

_UNIFIED = "chat_cowork_unified_metrics"
_SURFACE_ACTIVITY = {
    "chat": ("chat_metrics.message_count", f"{_UNIFIED}.chat.message_count"),
    "claude_code": (
        "claude_code_metrics.core_metrics.distinct_session_count",
        "claude_code_metrics.core_metrics.commit_count",
    ),
    "cowork": (
        "cowork_metrics.message_count",
        "cowork_metrics.action_count",
        f"{_UNIFIED}.sessions.message_count",
        f"{_UNIFIED}.sessions.action_count",
    ),
    "claude_tag": ("claude_tag_metrics.active_message_count",),
    "design": ("design_metrics.message_count",),
    "science": ("science_metrics.message_count",),
    "office_excel": ("office_metrics.excel.message_count",),
    "office_outlook": ("office_metrics.outlook.message_count",),
    "office_powerpoint": ("office_metrics.powerpoint.message_count",),
    "office_word": ("office_metrics.word.message_count",),
}
_BLOCK_ALIASES = {"bioscience_metrics": "science_metrics"}
_MESSAGE_COUNTS = (".message_count", "claude_tag_metrics.active_message_count")


@dataclass(frozen=True, slots=True)
class AnalyticsUserDay:
    """One user's engagement for the requested day (or window), metrics flattened.

    ``metrics`` maps dotted names such as ``chat_metrics.message_count`` or
    ``claude_code_metrics.core_metrics.lines_of_code.added_count`` to counts (``None`` where
    the API reports null). New metric blocks appear without a code change. A member on
    unified Chat and Cowork reports under ``chat_cowork_unified_metrics.{chat,sessions}``
    *instead of* ``chat_metrics``/``cowork_metrics``, so every block counts once.

    A value in a metrics block that is not a count (a float, a string, an unknown shape)
    does not cost the row: it is left out and named in ``unparsed``.
    """

    user_id: str
    email: str
    web_search_count: int
    last_activity_date: date | None
    metrics: Mapping[str, int | None] = field(repr=False)
    unparsed: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, row: Row) -> AnalyticsUserDay:
        user = _obj(row, "user")
        metrics: dict[str, int | None] = {}
        unparsed: list[str] = []
        for key, value in row.items():
            if not key.endswith("_metrics") or value is None:
                continue
            name = _BLOCK_ALIASES.get(key, key)
            if isinstance(value, Mapping):
                _flatten_counts(value, name + ".", metrics, unparsed)
            else:
                unparsed.append(name)
        return cls(
            user_id=_str(user, "id"),
            email=_str(user, "email_address"),
            web_search_count=_int(row, "web_search_count"),
            last_activity_date=_opt_date(row, "last_activity_date"),
            metrics=metrics,
            unparsed=tuple(unparsed),
        )

    @property
    def message_count(self) -> int:
        """Messages across every surface (chat, Cowork, Claude Tag, Office, Design, Science)."""
        return self._sum(_MESSAGE_COUNTS)

    @property
    def session_count(self) -> int:
        """Distinct sessions across Claude Code, Cowork, Office, Design and Science."""
        return self._sum((".distinct_session_count",))

    def _sum(self, suffixes: tuple[str, ...]) -> int:
        """The sum of the metrics whose names end with one of ``suffixes`` (nulls as 0)."""
        return sum(value or 0 for name, value in self.metrics.items() if name.endswith(suffixes))

    @property
    def surfaces_used(self) -> frozenset[str]:
        """Claude surfaces with any activity: ``chat``, ``claude_code``, ``office_excel`` ..."""
        return frozenset(
            surface
            for surface, names in _SURFACE_ACTIVITY.items()
            if any(self.metrics.get(name) for name in names)
        )


@dataclass(frozen=True, slots=True)
class DaySummary:
    """One day of ``/analytics/summaries``; the counts keep every numeric field by name."""

    starting_date: date
    ending_date: date
    daily_active_user_count: int
    weekly_active_user_count: int
    monthly_active_user_count: int
    assigned_seat_count: int | None
    pending_invite_count: int | None
    counts: Mapping[str, float | None] = field(repr=False)

    @classmethod
    def from_api(cls, row: Row) -> DaySummary:
        start_key = "starting_at" if row.get("starting_at") is not None else "starting_date"
        end_key = "ending_at" if row.get("ending_at") is not None else "ending_date"
        counts: dict[str, float | None] = {}
        for key, value in row.items():
            if key.endswith(("_count", "_rate")):
                if value is not None and (
                    isinstance(value, bool) or not isinstance(value, int | float)
                ):
                    raise RowError(f"{key!r} must be a number, got {type(value).__name__}")
                counts[key] = value
        return cls(
            starting_date=_date(row, start_key),
            ending_date=_date(row, end_key),
            daily_active_user_count=_int(row, "daily_active_user_count"),
            weekly_active_user_count=_int(row, "weekly_active_user_count"),
            monthly_active_user_count=_int(row, "monthly_active_user_count"),
            assigned_seat_count=_opt_int(row, "assigned_seat_count"),
            pending_invite_count=_opt_int(row, "pending_invite_count"),
            counts=counts,
        )


@dataclass(frozen=True, slots=True)
class ConnectorUsage:
    """One row of ``/analytics/connectors``; ``user_id`` is set when grouped by user."""

    connector_name: str
    display_name: str | None
    user_id: str | None
    distinct_user_count: int | None
    managed_auth_distinct_user_count: int | None
    individual_auth_distinct_user_count: int | None
    read_call_count: int | None
    write_call_count: int | None
    unclassified_call_count: int | None

    @classmethod
    def from_api(cls, row: Row) -> ConnectorUsage:
        return cls(
            connector_name=_str(row, "connector_name"),
            display_name=_opt_str(row, "connector_display_name"),
            user_id=_opt_str(row, "user_id"),
            distinct_user_count=_opt_int(row, "distinct_user_count"),
            managed_auth_distinct_user_count=_opt_int(row, "managed_auth_distinct_user_count"),
            individual_auth_distinct_user_count=_opt_int(
                row, "individual_auth_distinct_user_count"
            ),
            read_call_count=_opt_int(row, "read_call_count"),
            write_call_count=_opt_int(row, "write_call_count"),
            unclassified_call_count=_opt_int(row, "unclassified_call_count"),
        )


@dataclass(frozen=True, slots=True)
class SkillUsage:
    """One row of ``/analytics/skills``; spend fields are cents."""

    skill_name: str
    display_name: str | None
    share_status: str | None
    user_id: str | None
    distinct_user_count: int | None
    invocation_count: int | None
    estimated_overage_spend: Decimal | None
    attributed_list_price: Decimal | None

    @classmethod
    def from_api(cls, row: Row) -> SkillUsage:
        return cls(
            skill_name=_str(row, "skill_name"),
            display_name=_opt_str(row, "skill_display_name"),
            share_status=_opt_str(row, "share_status"),
            user_id=_opt_str(row, "user_id"),
            distinct_user_count=_opt_int(row, "distinct_user_count"),
            invocation_count=_opt_int(row, "invocation_count"),
            estimated_overage_spend=_opt_cents(row, "estimated_overage_spend"),
            attributed_list_price=_opt_cents(row, "attributed_list_price"),
        )


@dataclass(frozen=True, slots=True)
class ProjectUsage:
    """One row of ``/analytics/apps/chat/projects``."""

    project_id: str
    project_name: str | None
    user_id: str | None
    distinct_user_count: int | None
    message_count: int | None
    created_at: datetime | None
    created_by_id: str | None

    @classmethod
    def from_api(cls, row: Row) -> ProjectUsage:
        created_by = _opt_obj(row, "created_by")
        return cls(
            project_id=_str(row, "project_id"),
            project_name=_opt_str(row, "project_name"),
            user_id=_opt_str(row, "user_id"),
            distinct_user_count=_opt_int(row, "distinct_user_count"),
            message_count=_opt_int(row, "message_count"),
            created_at=_opt_datetime(row, "created_at"),
            created_by_id=None if created_by is None else _str(created_by, "id"),
        )


# --- Analytics API: tokens and cost --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportActor:
    """Who a per-user usage or cost row belongs to; ``deleted`` marks removed members."""

    user_id: str
    email: str | None
    name: str | None
    deleted: bool

    @classmethod
    def from_api(cls, row: Row) -> ReportActor:
        email = _opt_str(row, "email_address")
        return cls(
            user_id=_str(row, "user_id"),
            email=email if email is not None else _opt_str(row, "email"),
            name=_opt_str(row, "name"),
            deleted=_bool(row, "deleted"),
        )


@dataclass(frozen=True, slots=True)
class TokenCounts:
    """Token counters shared by per-user and bucketed usage rows."""

    uncached_input_tokens: int
    cache_read_input_tokens: int
    cache_creation_5m_input_tokens: int
    cache_creation_1h_input_tokens: int
    output_tokens: int
    web_search_requests: int

    @classmethod
    def from_api(cls, row: Row) -> TokenCounts:
        cache = _obj(row, "cache_creation")
        tools = _opt_obj(row, "server_tool_use") or {}
        return cls(
            uncached_input_tokens=_int(row, "uncached_input_tokens"),
            cache_read_input_tokens=_int(row, "cache_read_input_tokens"),
            cache_creation_5m_input_tokens=_int(cache, "ephemeral_5m_input_tokens"),
            cache_creation_1h_input_tokens=_int(cache, "ephemeral_1h_input_tokens"),
            output_tokens=_int(row, "output_tokens"),
            web_search_requests=_opt_int(tools, "web_search_requests") or 0,
        )

    @property
    def total_tokens(self) -> int:
        return (
            self.uncached_input_tokens
            + self.cache_read_input_tokens
            + self.cache_creation_5m_input_tokens
            + self.cache_creation_1h_input_tokens
            + self.output_tokens
        )


def _per_user_row_head(row: Row) -> dict[str, Any]:
    """The fields that open every per-user usage and cost row: actor, bucket, product, model."""
    return {
        "actor": ReportActor.from_api(_obj(row, "actor")),
        "starting_at": _opt_datetime(row, "starting_at"),
        "ending_at": _opt_datetime(row, "ending_at"),
        "product": _opt_str(row, "product"),
        "model": _opt_str(row, "model"),
    }


@dataclass(frozen=True, slots=True)
class UserUsage:
    """One row of ``/analytics/user_usage_report`` (per user, per bucket when bucketed)."""

    actor: ReportActor
    starting_at: datetime | None
    ending_at: datetime | None
    product: str | None
    model: str | None
    tokens: TokenCounts
    total_tokens: int
    requests: int | None

    @classmethod
    def from_api(cls, row: Row) -> UserUsage:
        return cls(
            **_per_user_row_head(row),
            tokens=TokenCounts.from_api(row),
            total_tokens=_int(row, "total_tokens"),
            requests=_opt_int(row, "requests"),
        )


@dataclass(frozen=True, slots=True)
class UsageActor:
    """Who usage belongs to in the Usage & Cost Analytics API: a member, a service account, a
    federated identity or an API key itself. ``key`` is stable across days and sources: the
    member's ``user_…`` id (as in the legacy per-user reports), else the actor's own id."""

    type: str
    key: str
    user_id: str | None = None
    email: str | None = None
    deleted: bool = False

    @classmethod
    def from_api(cls, row: Row | None) -> UsageActor:
        if row is None:
            return cls("unattributed", "unattributed")
        kind = _str(row, "type")
        if kind == "user_actor":
            user_id = _str(row, "user_id")
            return cls(
                kind, user_id, user_id, _opt_str(row, "email_address"), _bool(row, "deleted")
            )
        if kind == "service_account_actor":
            return cls(kind, _str(row, "service_account_id"))
        if kind == "api_actor":
            return cls(kind, _str(row, "api_key_id"))
        if kind == "federated_actor":
            provider = _obj(row, "provider")
            subject = _opt_str(row, "subject") or ""
            return cls(kind, f"federated:{_str(provider, 'type')}:{subject}")
        raise RowError(f"unknown actor type {kind!r}")


def _actor_day_head(row: Row) -> dict[str, Any]:
    """Actor, day and product of one ``/analytics/usage`` or ``/analytics/cost`` row."""
    group = _obj(row, "group")
    return {
        "actor": UsageActor.from_api(_opt_obj(group, "actor")),
        "day": _datetime(row, "starting_at").date(),
        "product": _opt_str(group, "product"),
        "model": _opt_str(group, "model"),
    }


@dataclass(frozen=True, slots=True)
class ActorUsage:
    """One row of ``/analytics/usage`` grouped by actor, product and model, per day."""

    actor: UsageActor
    day: date
    product: str | None
    model: str | None
    tokens: TokenCounts
    requests: int | None

    @classmethod
    def from_api(cls, row: Row) -> ActorUsage:
        usage = _obj(row, "usage")
        return cls(
            **_actor_day_head(row),
            tokens=TokenCounts.from_api(usage),
            requests=_opt_int(usage, "requests"),
        )


@dataclass(frozen=True, slots=True)
class ActorCost:
    """One row of ``/analytics/cost`` grouped by actor, product and model, per day (cents)."""

    actor: UsageActor
    day: date
    product: str | None
    model: str | None
    amount: Decimal
    currency: str

    @classmethod
    def from_api(cls, row: Row) -> ActorCost:
        cost = _obj(row, "cost")
        return cls(
            **_actor_day_head(row), amount=_cents(cost, "amount"), currency=_str(cost, "currency")
        )


@dataclass(frozen=True, slots=True)
class UserCost:
    """One row of ``/analytics/user_cost_report``; amounts are cents."""

    actor: ReportActor
    starting_at: datetime | None
    ending_at: datetime | None
    product: str | None
    model: str | None
    cost_type: str | None
    token_type: str | None
    currency: str
    amount: Decimal
    list_amount: Decimal | None
    requests: int | None

    @classmethod
    def from_api(cls, row: Row) -> UserCost:
        return cls(
            **_per_user_row_head(row),
            cost_type=_opt_str(row, "cost_type"),
            token_type=_opt_str(row, "token_type"),
            currency=_str(row, "currency"),
            amount=_cents(row, "amount"),
            list_amount=_opt_cents(row, "list_amount"),
            requests=_opt_int(row, "requests"),
        )


@dataclass(frozen=True, slots=True)
class UsageResult:
    """One group inside a bucket of ``/analytics/usage_report``."""

    product: str | None
    model: str | None
    tokens: TokenCounts
    requests: int | None

    @classmethod
    def from_api(cls, row: Row) -> UsageResult:
        return cls(
            product=_opt_str(row, "product"),
            model=_opt_str(row, "model"),
            tokens=TokenCounts.from_api(row),
            requests=_opt_int(row, "requests"),
        )


@dataclass(frozen=True, slots=True)
class CostResult:
    """One group inside a cost bucket (Analytics ``cost_report`` or Console ``cost_report``)."""

    currency: str
    amount: Decimal
    list_amount: Decimal | None
    product: str | None
    model: str | None
    cost_type: str | None
    workspace_id: str | None
    description: str | None

    @classmethod
    def from_api(cls, row: Row) -> CostResult:
        return cls(
            currency=_str(row, "currency"),
            amount=_cents(row, "amount"),
            list_amount=_opt_cents(row, "list_amount"),
            product=_opt_str(row, "product"),
            model=_opt_str(row, "model"),
            cost_type=_opt_str(row, "cost_type"),
            workspace_id=_opt_str(row, "workspace_id"),
            description=_opt_str(row, "description"),
        )


def _results(row: Row, parse: Callable[[Row], Any]) -> tuple[Any, ...]:
    results = _raw(row, "results", False)
    if not isinstance(results, list):
        raise RowError(f"'results' must be an array, got {type(results).__name__}")
    return tuple(parse(item) for item in results)


ResultT = TypeVar("ResultT")


@dataclass(frozen=True, slots=True)
class _ReportBucket(Generic[ResultT]):
    """One time bucket of a bucketed report; subclasses name how one result is parsed."""

    starting_at: datetime
    ending_at: datetime
    results: tuple[ResultT, ...]

    _result_from_api: ClassVar[Callable[[Row], Any]]

    @classmethod
    def from_api(cls, row: Row) -> Self:
        return cls(
            starting_at=_datetime(row, "starting_at"),
            ending_at=_datetime(row, "ending_at"),
            results=_results(row, cls._result_from_api),
        )


@dataclass(frozen=True, slots=True)
class UsageBucket(_ReportBucket[UsageResult]):
    """One time bucket of ``/analytics/usage_report`` (empty buckets have no results)."""

    _result_from_api = UsageResult.from_api


@dataclass(frozen=True, slots=True)
class CostBucket(_ReportBucket[CostResult]):
    """One time bucket of a cost report."""

    _result_from_api = CostResult.from_api


@dataclass(frozen=True, slots=True)
class ClaudeCodeUsage:
    """One actor-day of the Console ``usage_report/claude_code`` (cost in cents)."""

    date: date
    actor_type: str
    email: str | None
    api_key_name: str | None
    terminal_type: str | None
    session_count: int
    lines_added: int
    lines_removed: int
    estimated_cost: Decimal

    @classmethod
    def from_api(cls, row: Row) -> ClaudeCodeUsage:
        actor = _obj(row, "actor")
        core = _obj(row, "core_metrics")
        lines = _obj(core, "lines_of_code")
        breakdown = _raw(row, "model_breakdown", True) or []
        if not isinstance(breakdown, list):
            raise RowError("'model_breakdown' must be an array")
        cost = sum(
            (_cents(_obj(item, "estimated_cost"), "amount") for item in breakdown), Decimal(0)
        )
        return cls(
            date=_date(row, "date"),
            actor_type=_str(actor, "type"),
            email=_opt_str(actor, "email_address"),
            api_key_name=_opt_str(actor, "api_key_name"),
            terminal_type=_opt_str(row, "terminal_type"),
            session_count=_int(core, "num_sessions"),
            lines_added=_int(lines, "added"),
            lines_removed=_int(lines, "removed"),
            estimated_cost=cost,
        )


@dataclass(frozen=True, slots=True)
class SpendSummary:
    """One member's effective spend limit for one period (``/spend_limits/effective``), cents.

    ``amount`` None means no limit for the period; ``scope`` is the kind of limit that applies
    (``user``, ``rbac_group``, ``seat_tier``, ``organization``, ...).
    """

    user_id: str | None
    email: str | None
    period: str
    amount: Decimal | None
    spent: Decimal
    currency: str
    scope: str
    spend_limit_id: str

    @classmethod
    def from_api(cls, row: Row) -> SpendSummary:
        actor = _obj(row, "actor")
        user = _str(actor, "type") == "user_actor"
        return cls(
            user_id=_str(actor, "user_id") if user else None,
            email=_opt_str(actor, "email_address") if user else None,
            period=_str(row, "period"),
            amount=_opt_cents(row, "amount"),
            spent=_cents(row, "period_to_date_spend"),
            currency=_str(row, "currency"),
            scope=_str(_obj(row, "scope"), "type"),
            spend_limit_id=_str(row, "spend_limit_id"),
        )


@dataclass(frozen=True, slots=True)
class SpendLimitIncreaseRequest:
    """One request of a member for a higher spend limit (``/spend_limit_increase_requests``)."""

    id: str
    user_id: str | None
    period: str
    status: str
    created_at: datetime

    @classmethod
    def from_api(cls, row: Row) -> SpendLimitIncreaseRequest:
        actor = _obj(row, "actor")
        return cls(
            id=_str(row, "id"),
            user_id=_opt_str(actor, "user_id"),
            period=_str(row, "period"),
            status=_str(row, "status"),
            created_at=_datetime(row, "created_at"),
        )
