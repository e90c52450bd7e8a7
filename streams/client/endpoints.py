"""One declaration per API endpoint: path, key/rate family, paging style, page size, row type.

Adding an endpoint means one ``EndpointSpec`` here, a simulator route and a row in the
contract tests. Nothing here sends a request; ``ApiClient.fetch`` reads these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from streams.client import models
from streams.client.activities import Activity
from streams.client.pagination import PagingStyle
from streams.client.ratelimit import ApiFamily
from streams.client.transport import EndpointTraits

T = TypeVar("T")

ANALYTICS_PREFIX = "/v1/organizations/analytics"


@dataclass(frozen=True)
class EndpointSpec(Generic[T]):
    """What the client needs to know to list one endpoint completely and parse its rows."""

    name: str
    path: str
    family: ApiFamily
    paging: PagingStyle
    parse_row: Callable[[Mapping[str, Any]], T]
    doc: str
    max_limit: int | None = 1000
    envelope_keys: tuple[str, ...] = ("data",)
    whole_body_is_row: bool = False
    restart_on_expired_cursor: bool = False
    not_found_is_absence: bool = True
    scope: str | None = None
    publishes_by_day: bool = False
    beta: str | None = None
    """The ``anthropic-beta`` header a beta endpoint needs."""
    either_key: bool = False
    """Answered to the family's key or, where the connector has none, to its admin key (the
    Usage & Cost API takes an Enterprise ``read:analytics`` key or a Console Admin key)."""

    @property
    def traits(self) -> EndpointTraits:
        """What classifying this endpoint's answers needs to know."""
        return EndpointTraits(
            self.path, self.scope, self.not_found_is_absence, self.publishes_by_day
        )

    def url_path(self, path_params: Mapping[str, str] | None = None) -> str:
        """The request path with ``{placeholders}`` filled in."""
        return self.path.format(**(path_params or {}))


_REF = "https://platform.claude.com/docs/en/api/admin/"
READ_ANALYTICS = "read:analytics"
READ_MEMBERS = "read:members"
CONSOLE_ADMIN = "a Console Admin key"
READ_RBAC_GROUPS = "read:rbac_groups"


def _analytics(
    name: str, path: str, parse: Callable[[Mapping[str, Any]], T], doc: str, **options: Any
) -> EndpointSpec[T]:
    return EndpointSpec(
        name=name,
        path=f"{ANALYTICS_PREFIX}/{path}",
        family=ApiFamily.ANALYTICS,
        paging=PagingStyle.PAGE_TOKEN,
        parse_row=parse,
        doc=_REF + doc,
        scope=READ_ANALYTICS,
        **options,
    )


def _admin(
    name: str, path: str, parse: Callable[[Mapping[str, Any]], T], doc: str, **options: Any
) -> EndpointSpec[T]:
    options.setdefault("paging", PagingStyle.ID_CURSOR)
    options.setdefault("scope", READ_MEMBERS)
    options.setdefault("family", ApiFamily.ADMIN)
    return EndpointSpec(
        name=name,
        path=f"/v1/organizations/{path}",
        parse_row=parse,
        doc=_REF + doc,
        **options,
    )


ORGANIZATION = _admin(
    "organization",
    "me",
    models.Organization.from_api,
    "organizations/me",
    paging=PagingStyle.SINGLE,
    max_limit=None,
    whole_body_is_row=True,
)
MEMBERS = _admin("members", "users", models.Member.from_api, "users/list")
MEMBER = _admin(
    "member",
    "users/{user_id}",
    models.Member.from_api,
    "users/retrieve",
    paging=PagingStyle.SINGLE,
    max_limit=None,
    whole_body_is_row=True,
    not_found_is_absence=False,
)
INVITES = _admin("invites", "invites", models.Invite.from_api, "invites/list")
WORKSPACES = _admin(
    "workspaces", "workspaces", models.Workspace.from_api, "workspaces/list", scope=CONSOLE_ADMIN
)
WORKSPACE_MEMBERS = _admin(
    "workspace_members",
    "workspaces/{workspace_id}/members",
    models.WorkspaceMember.from_api,
    "workspaces/members/list",
    not_found_is_absence=False,
    scope=CONSOLE_ADMIN,
)
API_KEYS = _admin(
    "api_keys", "api_keys", models.ApiKeyInfo.from_api, "api_keys/list", scope=CONSOLE_ADMIN
)
CLAUDE_CODE_USAGE = _admin(
    "claude_code_usage",
    "usage_report/claude_code",
    models.ClaudeCodeUsage.from_api,
    "usage_report/retrieve_claude_code",
    paging=PagingStyle.PAGE_TOKEN,
    scope=CONSOLE_ADMIN,
)
CONSOLE_COST_REPORT = _admin(
    "console_cost_report",
    "cost_report",
    models.CostBucket.from_api,
    "cost_report/retrieve",
    paging=PagingStyle.PAGE_TOKEN,
    max_limit=31,
    scope=CONSOLE_ADMIN,
)

RBAC_GROUPS = _admin(
    "rbac_groups",
    "rbac_groups",
    models.RbacGroup.from_api,
    "rbac_groups/list",
    paging=PagingStyle.PAGE_TOKEN,
    scope=READ_RBAC_GROUPS,
)
RBAC_GROUP_MEMBERS = _admin(
    "rbac_group_members",
    "rbac_groups/{rbac_group_id}/members",
    models.RbacGroupMember.from_api,
    "rbac_groups/members/list",
    paging=PagingStyle.PAGE_TOKEN,
    scope=READ_RBAC_GROUPS,
    not_found_is_absence=False,
)

ANALYTICS_USERS = _analytics(
    "analytics_users",
    "users",
    models.AnalyticsUserDay.from_api,
    "analytics/users/list",
    publishes_by_day=True,
)
SUMMARIES = _analytics(
    "summaries",
    "summaries",
    models.DaySummary.from_api,
    "analytics/retrieve_summaries",
    max_limit=None,
    envelope_keys=("data", "summaries"),
    publishes_by_day=True,
)
CONNECTORS = _analytics(
    "connectors",
    "connectors",
    models.ConnectorUsage.from_api,
    "analytics/connectors/list",
    publishes_by_day=True,
)
SKILLS = _analytics(
    "skills", "skills", models.SkillUsage.from_api, "analytics/skills/list", publishes_by_day=True
)
CHAT_PROJECTS = _analytics(
    "chat_projects",
    "apps/chat/projects",
    models.ProjectUsage.from_api,
    "analytics/chat_projects/list",
    publishes_by_day=True,
)
USER_USAGE = _analytics(
    "user_usage",
    "user_usage_report",
    models.UserUsage.from_api,
    "analytics/usage/list_by_user",
    restart_on_expired_cursor=True,
)
USER_COST = _analytics(
    "user_cost",
    "user_cost_report",
    models.UserCost.from_api,
    "analytics/cost/list_by_user",
    restart_on_expired_cursor=True,
)
USAGE_REPORT = _analytics(
    "usage_report",
    "usage_report",
    models.UsageBucket.from_api,
    "analytics/usage/list",
    max_limit=31,
    restart_on_expired_cursor=True,
)
COST_REPORT = _analytics(
    "cost_report",
    "cost_report",
    models.CostBucket.from_api,
    "analytics/cost/list",
    max_limit=31,
    restart_on_expired_cursor=True,
)

USAGE_COST_BETA = "analytics-usage-cost-2026-08-24"
ACTOR_USAGE = _analytics(
    "actor_usage",
    "usage",
    models.ActorUsage.from_api,
    "analytics/usage/list",
    beta=USAGE_COST_BETA,
    either_key=True,
)
ACTOR_COST = _analytics(
    "actor_cost",
    "cost",
    models.ActorCost.from_api,
    "analytics/cost/list",
    beta=USAGE_COST_BETA,
    either_key=True,
)
READ_SPEND_LIMITS = "read:spend_limits"


def _spend_limits(
    name: str, path: str, parse: Callable[[Mapping[str, Any]], T], doc: str
) -> EndpointSpec[T]:
    """A spend-limit listing: Enterprise, opaque cursors, its own rate limit."""
    return _admin(
        name,
        path,
        parse,
        doc,
        family=ApiFamily.SPEND_LIMITS,
        paging=PagingStyle.PAGE_TOKEN,
        max_limit=100,
        scope=READ_SPEND_LIMITS,
    )


EFFECTIVE_SPEND_LIMITS = _spend_limits(
    "effective_spend_limits",
    "spend_limits/effective",
    models.SpendSummary.from_api,
    "spend_limits/effective/list",
)
SPEND_LIMIT_INCREASE_REQUESTS = _spend_limits(
    "spend_limit_increase_requests",
    "spend_limit_increase_requests",
    models.SpendLimitIncreaseRequest.from_api,
    "spend_limit_increase_requests/list",
)
ACTIVITIES_MAX_LIMIT = 5000
ACTIVITIES = EndpointSpec(
    name="activities",
    path="/v1/compliance/activities",
    family=ApiFamily.COMPLIANCE,
    paging=PagingStyle.ID_CURSOR,
    parse_row=Activity.from_api,
    doc="https://platform.claude.com/docs/en/api/compliance/activities/list",
    max_limit=ACTIVITIES_MAX_LIMIT,
    scope="read:compliance_activities",
)

ENDPOINTS: Mapping[str, EndpointSpec[Any]] = {
    spec.name: spec
    for spec in (
        ORGANIZATION,
        MEMBERS,
        MEMBER,
        INVITES,
        WORKSPACES,
        WORKSPACE_MEMBERS,
        API_KEYS,
        RBAC_GROUPS,
        RBAC_GROUP_MEMBERS,
        CLAUDE_CODE_USAGE,
        CONSOLE_COST_REPORT,
        ANALYTICS_USERS,
        SUMMARIES,
        CONNECTORS,
        SKILLS,
        CHAT_PROJECTS,
        USER_USAGE,
        USER_COST,
        USAGE_REPORT,
        COST_REPORT,
        ACTOR_USAGE,
        ACTOR_COST,
        EFFECTIVE_SPEND_LIMITS,
        SPEND_LIMIT_INCREASE_REQUESTS,
        ACTIVITIES,
    )
}
