"""Talk to the Anthropic Admin and Analytics APIs: paced, paged, typed, and honest about gaps.

``ApiClient`` lists an endpoint into a ``Listing`` that says whether it completed. Endpoints
are declarations (``endpoints.py``); paging decisions are pure (``pagination.py``); one
function sends and classifies (``transport.py``); one budget per organisation and API family
paces every request in the process (``ratelimit.py``); rows are typed (``models.py``).
"""

from streams.client.activities import Activity, Actor
from streams.client.api import ApiClient
from streams.client.compliance import ActivityQuery, list_activities
from streams.client.endpoints import EndpointSpec
from streams.client.listing import Listing, Page
from streams.client.models import (
    ActorCost,
    ActorUsage,
    AnalyticsUserDay,
    ApiKeyInfo,
    ClaudeCodeUsage,
    ConnectorUsage,
    CostBucket,
    CostResult,
    DaySummary,
    Invite,
    Member,
    Organization,
    ProjectUsage,
    RbacGroup,
    RbacGroupMember,
    ReportActor,
    RowError,
    SkillUsage,
    SpendLimitIncreaseRequest,
    SpendSummary,
    TokenCounts,
    UsageActor,
    UsageBucket,
    UsageResult,
    UserCost,
    UserUsage,
    Workspace,
    WorkspaceMember,
    parse_cents,
)
from streams.client.pagination import Pager, PaginationBroken, PagingStyle
from streams.client.ratelimit import ApiFamily, RateBudget, RateBudgets, shared_budgets
from streams.client.transport import RetryPolicy, classify, redact

__all__ = [
    "Activity",
    "ActivityQuery",
    "Actor",
    "ActorCost",
    "ActorUsage",
    "AnalyticsUserDay",
    "ApiClient",
    "ApiFamily",
    "ApiKeyInfo",
    "ClaudeCodeUsage",
    "ConnectorUsage",
    "CostBucket",
    "CostResult",
    "DaySummary",
    "EndpointSpec",
    "Invite",
    "Listing",
    "Member",
    "Organization",
    "Page",
    "Pager",
    "PaginationBroken",
    "PagingStyle",
    "ProjectUsage",
    "RateBudget",
    "RateBudgets",
    "RbacGroup",
    "RbacGroupMember",
    "ReportActor",
    "RetryPolicy",
    "RowError",
    "SkillUsage",
    "SpendLimitIncreaseRequest",
    "SpendSummary",
    "TokenCounts",
    "UsageActor",
    "UsageBucket",
    "UsageResult",
    "UserCost",
    "UserUsage",
    "Workspace",
    "WorkspaceMember",
    "classify",
    "list_activities",
    "parse_cents",
    "redact",
    "shared_budgets",
]
