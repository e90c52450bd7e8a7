"""``ApiClient``: one connector's access to the Anthropic Admin and Analytics APIs.

The client holds policy (base URL, keys, headers, rate budgets, retry policy); the work of one
request is ``transport.send`` and the paging decisions are ``pagination.Pager``. Usage::

    async with ApiClient(connector, budgets=budgets) as api:
        roster = await api.members()
        if roster.completed:
            ...  # authoritative: may conclude removals
"""

from __future__ import annotations

import contextlib
import hashlib
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx

from streams import __version__
from streams.client import endpoints as ep
from streams.client import models
from streams.client.endpoints import EndpointSpec
from streams.client.listing import Listing, Page, parse_page, warn_unparsed
from streams.client.pagination import Pager, PaginationBroken
from streams.client.ratelimit import ApiFamily, RateBudget, RateBudgets, shared_budgets
from streams.client.transport import DEFAULT_RETRY, RequestStats, RetryPolicy, Sender, send
from streams.config import ConnectorConfig
from streams.errors import ApiError, ApiResponseError, ConfigError

T = TypeVar("T")
R = TypeVar("R")

API_VERSION = "2023-06-01"
USER_AGENT = f"claude-connector/{__version__} (httpx/{httpx.__version__})"
DEFAULT_TIMEOUT = 30.0
PARAM = Mapping[str, Any]


def _query_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set | frozenset):
        return [_query_value(item) for item in value]
    return value


def _params(**values: Any) -> dict[str, Any]:
    """Query parameters without the unset ones; ``x__`` names become ``x[]`` (list params)."""
    return {
        (name[:-2] + "[]" if name.endswith("__") else name): value
        for name, value in values.items()
        if value is not None and value != () and value != []
    }


class ApiClient:
    """Async client for one connector (one Claude organisation). Use as ``async with``."""

    def __init__(
        self,
        connector: ConnectorConfig,
        *,
        budgets: RateBudgets | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        transport: httpx.AsyncBaseTransport | None = None,
        max_restarts: int = 2,
        seed: int | None = None,
    ) -> None:
        self.connector = connector
        self.max_restarts = max_restarts
        self._budgets = budgets if budgets is not None else shared_budgets()
        self._http = httpx.AsyncClient(
            base_url=connector.api_base_url,
            timeout=timeout,
            transport=transport,
            headers={
                "anthropic-version": API_VERSION,
                "user-agent": USER_AGENT,
                "accept": "application/json",
            },
        )
        self._http.event_hooks["response"].append(self._note_server_time)
        self._clock_offset: timedelta | None = None
        self._org_id: str | None = None
        self._sender = Sender(self._http, retry, random.Random(seed))

    def __repr__(self) -> str:
        keys = [family.value for family in ApiFamily if self.has_key(family)]
        return f"ApiClient({self.connector.name!r}, {self.connector.api_base_url!r}, keys={keys})"

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _note_server_time(self, response: httpx.Response) -> None:
        """Keep the offset of the server's clock (the ``Date`` header) from ours, and draw on
        the organisation's rate budget once an answer names it."""
        org_id = response.headers.get("anthropic-organization-id")
        if org_id and org_id != self._org_id:
            self._org_id = org_id
            self._bind_organisation(org_id)
        with contextlib.suppress(TypeError, ValueError):
            server = parsedate_to_datetime(response.headers.get("date", ""))
            if server.tzinfo is not None:
                self._clock_offset = server - datetime.now(UTC)

    def now(self) -> datetime:
        """The API server's current time, as of its last ``Date`` header (ours before any).

        Date windows are computed on the server's clock, so a skewed local clock (or the
        simulator's simulated time) never makes the connector ask for days that do not exist.
        """
        return datetime.now(UTC) + (self._clock_offset or timedelta(0))

    @property
    def clock_synced(self) -> bool:
        """Whether ``now`` follows the server's clock: some answer (with a ``Date``) arrived."""
        return self._clock_offset is not None

    def has_key(self, family: ApiFamily) -> bool:
        """Whether this connector holds a key for ``family``'s endpoints."""
        return self._secret(family) is not None

    def budget(self, family: ApiFamily, key: str | None = None) -> RateBudget:
        """The process-wide budget for ``family`` requests sent with ``key`` (by default this
        connector's key for ``family``): the budget of the key's organisation, once known."""
        return self._budgets.budget(self._identity(key or self._secret(family)), family)

    def _identity(self, secret: str | None) -> str:
        """Who a budget belongs to before the organisation is known: the key (a digest)."""
        digest = hashlib.sha256((secret or "").encode()).hexdigest()[:16]
        return f"{self.connector.api_base_url}#key:{digest}"

    def _bind_organisation(self, org_id: str) -> None:
        for family in ApiFamily:
            if self.has_key(family):
                self._budgets.bind(self._identity(self._secret(family)), org_id)

    def _secret(self, family: ApiFamily) -> str | None:
        connector = self.connector
        if family is ApiFamily.ANALYTICS:
            secret = connector.analytics_api_key
        elif family is ApiFamily.COMPLIANCE:
            # A Console Admin key reaches the Activity Feed too: it is the fallback.
            secret = connector.compliance_api_key or connector.admin_api_key
        else:
            secret = connector.admin_api_key
        return secret.reveal() if secret else None

    def _query(self, spec: EndpointSpec[Any], params: PARAM | None) -> dict[str, Any]:
        query = {name: _query_value(value) for name, value in (params or {}).items()}
        if spec.max_limit is not None:
            query.setdefault("limit", spec.max_limit)
        return query

    async def pages(
        self,
        spec: EndpointSpec[T],
        params: PARAM | None = None,
        *,
        path_params: Mapping[str, str] | None = None,
        stats: RequestStats | None = None,
    ) -> AsyncIterator[Page[T]]:
        """Every page of one listing, in order; raises the ``ApiError`` that stops it."""
        key = self._secret(spec.family)
        if key is None and spec.either_key:
            key = self._secret(ApiFamily.ADMIN)
        if key is None:
            raise ConfigError(
                f"connector {self.connector.name!r} has no {spec.family.value} key for {spec.path}"
            )
        pager = Pager(spec.paging)
        base = self._query(spec, params)
        query = base
        path = spec.url_path(path_params)
        while True:
            exchange = await send(
                self._sender,
                self.budget(spec.family, key),
                key=key,
                path=path,
                params=query,
                traits=spec.traits,
                headers={"anthropic-beta": spec.beta} if spec.beta else None,
                stats=stats,
            )
            page = parse_page(spec, exchange)
            yield page
            try:
                follow = pager.advance(page.envelope)
            except PaginationBroken as exc:
                raise ApiResponseError(
                    f"pagination broken: {exc}",
                    endpoint=spec.path,
                    status=exchange.status,
                    request_id=exchange.request_id,
                ) from None
            if follow is None:
                return
            query = {**base, **follow}

    async def fetch(
        self,
        spec: EndpointSpec[T],
        params: PARAM | None = None,
        *,
        path_params: Mapping[str, str] | None = None,
    ) -> Listing[T]:
        """List every page; never raises an ``ApiError``, the ``Listing`` carries it instead.

        An expired cursor (410) restarts the listing from page one, at most
        ``max_restarts`` times, for endpoints documented to do so.
        """
        return await self.fetch_kept(spec, _itself, params, path_params=path_params)

    async def fetch_kept(
        self,
        spec: EndpointSpec[T],
        keep: Callable[[T], R],
        params: PARAM | None = None,
        *,
        path_params: Mapping[str, str] | None = None,
    ) -> Listing[R]:
        """``fetch``, each row turned into ``keep(row)`` as its page arrives: a long listing
        of large rows holds only what the caller keeps of them, never every row at once."""
        stats = RequestStats()
        restarts = 0
        while True:
            rows: list[R] = []
            pages = 0
            meta: Mapping[str, Any] = {}
            unparsed: Counter[str] = Counter()
            try:
                async for page in self.pages(spec, params, path_params=path_params, stats=stats):
                    rows.extend(map(keep, page.rows))
                    pages += 1
                    meta = page.envelope
                    unparsed.update(page.unparsed)
                    warn_unparsed(spec.path, page.unparsed)
            except ApiError as exc:
                if (
                    exc.status == 410
                    and spec.restart_on_expired_cursor
                    and restarts < self.max_restarts
                ):
                    restarts += 1
                    continue
                error: ApiError | None = exc
            else:
                error = None
            return Listing(
                endpoint=spec.path,
                rows=tuple(rows),
                completed=error is None,
                pages=pages,
                requests=stats.requests,
                rate_limited=stats.rate_limited,
                restarts=restarts,
                error=error,
                meta=meta,
                unparsed=dict(unparsed),
            )

    async def get(
        self, spec: EndpointSpec[T], *, path_params: Mapping[str, str] | None = None
    ) -> T:
        """The single object an endpoint such as ``/me`` returns; raises its ``ApiError``."""
        listing = (await self.fetch(spec, path_params=path_params)).raise_for_error()
        if len(listing.rows) != 1:
            raise ApiResponseError(
                f"expected one object, got {len(listing.rows)}", endpoint=spec.path
            )
        return listing.rows[0]

    # --- Admin API -----------------------------------------------------------------------

    async def organization(self) -> models.Organization:
        """``/v1/organizations/me``: a cheap check that the admin key works."""
        organization = await self.get(ep.ORGANIZATION)
        if organization.id != self._org_id:
            self._org_id = organization.id
            self._bind_organisation(organization.id)
        return organization

    async def members(
        self, *, email: str | None = None, roles: Iterable[str] = ()
    ) -> Listing[models.Member]:
        """The member roster (newest first). Only a completed listing is authoritative."""
        return await self.fetch(ep.MEMBERS, _params(email=email, roles__=tuple(roles)))

    async def invites(self, *, statuses: Iterable[str] = ()) -> Listing[models.Invite]:
        return await self.fetch(ep.INVITES, _params(statuses__=tuple(statuses)))

    async def workspaces(self, *, include_archived: bool = False) -> Listing[models.Workspace]:
        return await self.fetch(ep.WORKSPACES, _params(include_archived=include_archived or None))

    async def workspace_members(self, workspace_id: str) -> Listing[models.WorkspaceMember]:
        return await self.fetch(ep.WORKSPACE_MEMBERS, path_params={"workspace_id": workspace_id})

    async def api_keys(self, *, status: str | None = None) -> Listing[models.ApiKeyInfo]:
        return await self.fetch(ep.API_KEYS, _params(status=status))

    async def rbac_groups(self) -> Listing[models.RbacGroup]:
        """The organisation's groups (Enterprise, ``read:rbac_groups``)."""
        return await self.fetch(ep.RBAC_GROUPS)

    async def rbac_group_members(self, group_id: str) -> Listing[models.RbacGroupMember]:
        return await self.fetch(ep.RBAC_GROUP_MEMBERS, path_params={"rbac_group_id": group_id})

    async def claude_code_usage(self, day: date) -> Listing[models.ClaudeCodeUsage]:
        """Console Claude Code usage for one UTC day."""
        return await self.fetch(ep.CLAUDE_CODE_USAGE, _params(starting_at=day))

    async def console_cost_report(
        self,
        starting_at: datetime,
        ending_at: datetime | None = None,
        *,
        group_by: Iterable[str] = (),
    ) -> Listing[models.CostBucket]:
        return await self._report(
            ep.CONSOLE_COST_REPORT, starting_at, ending_at, bucket_width="1d", group_by=group_by
        )

    # --- Analytics API: engagement --------------------------------------------------------

    async def analytics_users(
        self,
        day: date | None = None,
        *,
        starting_date: date | None = None,
        ending_date: date | None = None,
        user_ids: Iterable[str] = (),
    ) -> Listing[models.AnalyticsUserDay]:
        """Per-user engagement for ``day`` (or rolled up over ``[starting_date, ending_date)``)."""
        filters = tuple(f"user_id:{user_id}" for user_id in user_ids)
        return await self.fetch(
            ep.ANALYTICS_USERS,
            _params(
                date=day, starting_date=starting_date, ending_date=ending_date, filter__=filters
            ),
        )

    async def engagement(
        self, day: date, keep: Callable[[models.AnalyticsUserDay], R]
    ) -> Listing[R]:
        """``analytics_users(day)`` with each row turned into ``keep(row)`` page by page (a
        row's metrics take about 9 KB: a large organisation's day is never held whole)."""
        return await self.fetch_kept(ep.ANALYTICS_USERS, keep, _params(date=day))

    async def summaries(
        self, starting_date: date, ending_date: date | None = None
    ) -> Listing[models.DaySummary]:
        """Org-level DAU/WAU/MAU and seats per day; the last row is the latest published day."""
        return await self.fetch(
            ep.SUMMARIES, _params(starting_date=starting_date, ending_date=ending_date)
        )

    async def connectors(
        self, day: date, *, by_user: bool = True
    ) -> Listing[models.ConnectorUsage]:
        """Connector (MCP) usage for ``day``; ``by_user`` adds one row per connector and user."""
        return await self.fetch(ep.CONNECTORS, _params(date=day, group_by__=_by_user(by_user)))

    async def skills(self, day: date, *, by_user: bool = True) -> Listing[models.SkillUsage]:
        return await self.fetch(ep.SKILLS, _params(date=day, group_by__=_by_user(by_user)))

    async def chat_projects(
        self, day: date, *, by_user: bool = False
    ) -> Listing[models.ProjectUsage]:
        return await self.fetch(ep.CHAT_PROJECTS, _params(date=day, group_by__=_by_user(by_user)))

    # --- Analytics API: tokens and cost ---------------------------------------------------

    async def user_usage(
        self,
        starting_at: datetime,
        ending_at: datetime,
        *,
        bucket_width: str | None = "1d",
        group_by: Iterable[str] = (),
        user_ids: Iterable[str] = (),
    ) -> Listing[models.UserUsage]:
        """Per-user token usage, one row per user and day (``bucket_width="1d"``).

        ``Listing.meta["data_refreshed_at"]`` is the watermark: later buckets are incomplete.
        """
        return await self._report(
            ep.USER_USAGE, starting_at, ending_at, bucket_width, group_by, user_ids
        )

    async def user_cost(
        self,
        starting_at: datetime,
        ending_at: datetime,
        *,
        bucket_width: str | None = "1d",
        group_by: Iterable[str] = (),
        user_ids: Iterable[str] = (),
    ) -> Listing[models.UserCost]:
        """Per-user cost in cents, one row per user and day (``bucket_width="1d"``)."""
        return await self._report(
            ep.USER_COST, starting_at, ending_at, bucket_width, group_by, user_ids
        )

    async def usage_report(
        self,
        starting_at: datetime,
        ending_at: datetime | None = None,
        *,
        group_by: Iterable[str] = (),
    ) -> Listing[models.UsageBucket]:
        """Org-wide token usage in daily buckets (includes non-seat traffic)."""
        return await self._report(ep.USAGE_REPORT, starting_at, ending_at, group_by=group_by)

    async def cost_report(
        self,
        starting_at: datetime,
        ending_at: datetime | None = None,
        *,
        group_by: Iterable[str] = (),
    ) -> Listing[models.CostBucket]:
        """Org-wide cost (cents) in daily buckets."""
        return await self._report(ep.COST_REPORT, starting_at, ending_at, group_by=group_by)

    async def actor_usage(
        self, starting_at: datetime, ending_at: datetime
    ) -> Listing[models.ActorUsage]:
        """Tokens per actor, product, model and day from the Usage & Cost Analytics API (beta):
        members, service accounts, federated identities and API keys alike."""
        return await self.fetch(ep.ACTOR_USAGE, _actor_day_query(starting_at, ending_at))

    async def actor_cost(
        self, starting_at: datetime, ending_at: datetime
    ) -> Listing[models.ActorCost]:
        """USD cost (cents) per actor, product, model and day (Usage & Cost Analytics API)."""
        return await self.fetch(ep.ACTOR_COST, _actor_day_query(starting_at, ending_at))

    async def effective_spend_limits(
        self, keep: Callable[[models.SpendSummary], R]
    ) -> Listing[R]:
        """Every member's effective spend limit and period-to-date spend, per period
        (Enterprise, ``read:spend_limits``), each row turned into ``keep(row)`` page by page
        (a large organisation has a row per member and period)."""
        return await self.fetch_kept(ep.EFFECTIVE_SPEND_LIMITS, keep)

    async def spend_limit_increase_requests(
        self, *, statuses: Iterable[str] = ()
    ) -> Listing[models.SpendLimitIncreaseRequest]:
        """Members' requests for a higher limit, newest first."""
        return await self.fetch(ep.SPEND_LIMIT_INCREASE_REQUESTS, _params(status__=tuple(statuses)))

    async def _report(
        self,
        spec: EndpointSpec[T],
        starting_at: datetime,
        ending_at: datetime | None,
        bucket_width: str | None = None,
        group_by: Iterable[str] = (),
        user_ids: Iterable[str] = (),
    ) -> Listing[T]:
        """A usage or cost report over ``[starting_at, ending_at)``; unset filters are left out."""
        return await self.fetch(
            spec,
            _params(
                starting_at=starting_at,
                ending_at=ending_at,
                bucket_width=bucket_width,
                group_by__=tuple(group_by),
                user_ids__=tuple(user_ids),
            ),
        )


def _actor_day_query(starting_at: datetime, ending_at: datetime) -> dict[str, Any]:
    return _params(
        starting_at=starting_at,
        ending_at=ending_at,
        time_bucket_width="1d",
        group_by__=("actor", "product", "model"),
    )


def _itself(row: T) -> T:
    return row


def _by_user(by_user: bool) -> tuple[str, ...]:
    return ("user_id",) if by_user else ()
