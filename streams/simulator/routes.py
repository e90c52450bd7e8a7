"""The route table of documented endpoints and the pipeline every API request goes through.

Pipeline: request-id → key (``x-api-key`` or ``Authorization: Bearer``) → the org kind has
the endpoint (else 404) → scope (else 403 with the documented message) → ``anthropic-version``
(required on the Admin API; one of the two documented values) → org-wide rate limit per
family → injected faults → handler → documented JSON, then the faults that spoil an answer
(cursors, malformation).
Errors use the documented body ``{"type":"error","error":{"type","message"},"request_id"}``
and a ``request-id`` header.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from streams.simulator import shapes
from streams.simulator.faults import MALFORMED_MODES, TRUNCATE_MODES, Faults, wrong_type
from streams.simulator.feed import ActivityFeed, feed_disabled
from streams.simulator.handlers import Api, SimError, cursor_expired
from streams.simulator.org import Churn, Org, OrgKind, SimConfig, rfc3339, tagged_id
from streams.simulator.ratelimit import SlidingWindow

Family = Literal["analytics", "admin", "compliance", "spend_limits"]
ANALYTICS = "/v1/organizations/analytics"
_ERROR_TYPES = {
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
ENTERPRISE: frozenset[OrgKind] = frozenset({"enterprise"})
CONSOLE: frozenset[OrgKind] = frozenset({"console"})
BOTH: frozenset[OrgKind] = ENTERPRISE | CONSOLE
READ_ANALYTICS, READ_MEMBERS = "read:analytics", "read:members"
READ_GROUPS = "read:rbac_groups"
CONSOLE_ADMIN = "console_admin"
"""What a Console Admin key carries: no scopes to choose, every Console endpoint."""
USAGE_COST = "analytics-usage-cost-2026-08-24"
API_VERSIONS = frozenset({"2023-06-01", "2026-10-21"})
"""The ``anthropic-version`` values the documentation and SDK 2.17.0 send."""
READ_COMPLIANCE = "read:compliance_activities"
READ_SPEND_LIMITS = "read:spend_limits"


@dataclass(frozen=True)
class Route:
    """One documented endpoint: path, rate family, the ``Api`` method that answers it, the org
    kinds that have it and the Enterprise scope it needs (Console orgs need their Admin key)."""

    path: str
    family: Family
    handler: Callable[..., dict[str, Any]]
    kinds: frozenset[OrgKind]
    scope: str
    legacy_not_found: bool = False
    beta: str | None = None
    """The ``anthropic-beta`` value the endpoint requires."""
    offload: bool = False
    """Answered in a worker thread: a report built over every member must not hold up the
    other endpoints (a real API's backend builds it elsewhere too)."""

    def needs(self, kind: OrgKind) -> str:
        """The scope a key of an org of ``kind`` must carry for this route."""
        return CONSOLE_ADMIN if kind == "console" else self.scope


def _admin(
    path: str, handler: Callable[..., dict[str, Any]], kinds: frozenset[OrgKind] = BOTH
) -> Route:
    return Route(f"/v1/organizations/{path}", "admin", handler, kinds, READ_MEMBERS)


def _analytics(
    path: str, handler: Callable[..., dict[str, Any]], *, engagement: bool = True
) -> Route:
    return Route(
        f"{ANALYTICS}/{path}",
        "analytics",
        handler,
        ENTERPRISE,
        READ_ANALYTICS,
        legacy_not_found=engagement,
    )


ROUTES: tuple[Route, ...] = (
    _admin("me", Api.me),
    _admin("users", Api.users),
    _admin("users/{user_id}", Api.user),
    _admin("invites", Api.invites),
    _admin("workspaces", Api.workspaces, CONSOLE),
    _admin("workspaces/{workspace_id}/members", Api.workspace_members, CONSOLE),
    _admin("api_keys", Api.api_keys, CONSOLE),
    Route("/v1/organizations/rbac_groups", "admin", Api.rbac_groups, ENTERPRISE, READ_GROUPS),
    Route(
        "/v1/organizations/rbac_groups/{rbac_group_id}/members",
        "admin",
        Api.rbac_group_members,
        ENTERPRISE,
        READ_GROUPS,
    ),
    _admin("usage_report/claude_code", Api.claude_code_usage, CONSOLE),
    _admin("cost_report", Api.console_cost_report, CONSOLE),
    _analytics("users", Api.analytics_users),
    _analytics("summaries", Api.summaries),
    _analytics("connectors", Api.connectors),
    _analytics("skills", Api.skills),
    _analytics("apps/chat/projects", Api.chat_projects),
    _analytics("user_usage_report", Api.user_usage_report, engagement=False),
    _analytics("user_cost_report", Api.user_cost_report, engagement=False),
    _analytics("usage_report", Api.usage_report, engagement=False),
    _analytics("cost_report", Api.cost_report, engagement=False),
    Route(
        f"{ANALYTICS}/usage",
        "analytics",
        Api.actor_usage,
        BOTH,
        READ_ANALYTICS,
        beta=USAGE_COST,
        offload=True,
    ),
    Route(
        f"{ANALYTICS}/cost",
        "analytics",
        Api.actor_cost,
        BOTH,
        READ_ANALYTICS,
        beta=USAGE_COST,
        offload=True,
    ),
    Route(
        "/v1/organizations/spend_limits/effective",
        "spend_limits",
        Api.effective_spend_limits,
        ENTERPRISE,
        READ_SPEND_LIMITS,
        offload=True,
    ),
    Route(
        "/v1/organizations/spend_limit_increase_requests",
        "spend_limits",
        Api.spend_limit_increase_requests,
        ENTERPRISE,
        READ_SPEND_LIMITS,
        offload=True,
    ),
    Route(
        "/v1/compliance/activities", "compliance", ActivityFeed.activities, BOTH, READ_COMPLIANCE
    ),
)


@dataclass
class SimState:
    """Everything one running simulator holds: the org, its limits, faults and counters."""

    config: SimConfig
    org: Org
    api: Api
    feed: ActivityFeed
    faults: Faults
    limits: dict[str, SlidingWindow]
    stats: Counter[str] = field(default_factory=Counter)
    """Requests per family, answers per status, injected faults, handler time (ms)."""
    _requests: int = 0

    @classmethod
    def build(cls, config: SimConfig) -> SimState:
        org = Org(config)
        return cls(
            config=org.config,
            org=org,
            api=Api(org),
            feed=ActivityFeed(org, lag=org.config.feed_lag),
            faults=Faults(config.seed),
            limits={
                "analytics": SlidingWindow(config.analytics_rate, window=config.rate_window),
                "admin": SlidingWindow(config.admin_rate, window=config.rate_window),
                "compliance": SlidingWindow(config.compliance_rate, window=config.rate_window),
                "spend_limits": SlidingWindow(config.spend_limits_rate, window=config.rate_window),
            },
        )

    def advance(self, background: int, **churn: Any) -> tuple[Churn, list[dict[str, Any]]]:
        """``Org.advance(**churn)``, then its activities and ``background`` others recorded in
        the Activity Feed (the feed's draws are seeded by the org's seed and clock)."""
        done = self.org.advance(**churn)
        clock = rfc3339(self.org.now)
        rng = random.Random(f"feed:{self.config.seed}:{clock}:{len(self.feed.rows)}")
        return done, self.feed.record_advance(done, background, rng)

    def truth(self, **window: Any) -> dict[str, Any]:
        """``GET /_sim/truth``: the org's truth (``Org.truth``, ``window`` its arguments) with
        the reasons the Activity Feed's record adds to each member's ``risks``, and the keys
        it recorded (``keys``: each with its ``risks``)."""
        result = self.org.truth(**window)
        for user in result["users"]:
            user["risks"] = sorted(user["risks"] + self.feed.risks(self.org.by_id[user["id"]]))
        result["keys"] = self.feed.keys_truth()
        return result

    def next_request_id(self) -> str:
        self._requests += 1
        return tagged_id("req_", self.org.key, self._requests)

    def scopes(self, key: str | None) -> frozenset[str] | None:
        """The scopes ``key`` carries, or None for an unknown key."""
        scopes: set[str] = set()
        if self.config.org_kind == "console":
            return frozenset({CONSOLE_ADMIN}) if key == self.config.admin_key else None
        if key == self.config.analytics_key:
            scopes.add(READ_ANALYTICS)
        if key == self.config.admin_key:
            scopes |= {READ_MEMBERS, READ_GROUPS, READ_SPEND_LIMITS}
        if key == self.config.compliance_key:
            scopes.add(READ_COMPLIANCE)
        return frozenset(scopes) if scopes else None


def _presented_key(request: web.Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _authorise(state: SimState, route: Route, request: web.Request) -> None:
    legacy_404 = state.config.dialect == "legacy" and route.legacy_not_found
    kind = state.config.org_kind
    scopes = state.scopes(_presented_key(request))
    if state.faults.settings.revoke_keys or scopes is None:
        message = "API key has been revoked" if scopes else "invalid x-api-key"
        if legacy_404:
            raise SimError(404, "not_found_error", "API key not found or lacks read:analytics")
        raise SimError(401, "authentication_error", message)
    if kind not in route.kinds and route.family == "spend_limits":
        raise SimError(
            400, "invalid_request_error", "organization_type_not_supported: spend limits "
            f"are not available to {kind} organizations"
        )
    if kind not in route.kinds:
        raise SimError(
            404, "not_found_error", f"{route.path} is not available to {kind} organizations"
        )
    needed = route.needs(kind)
    if needed not in scopes:
        if legacy_404:
            raise SimError(404, "not_found_error", "API key not found or lacks read:analytics")
        raise SimError(
            403,
            "permission_error",
            f"Missing required scopes. Got: {sorted(scopes)} Needed: [{needed!r}]",
        )
    if route.family == "compliance" and state.faults.settings.feed_off is not None:
        raise feed_disabled(state.faults.settings.feed_off)
    betas = {part.strip() for part in request.headers.get("anthropic-beta", "").split(",")}
    if route.beta is not None and route.beta not in betas:
        raise SimError(
            400,
            "invalid_request_error",
            f"This endpoint requires the beta header anthropic-beta: {route.beta}",
        )
    version = request.headers.get("anthropic-version")
    if route.family in ("admin", "spend_limits") and version is None:
        raise SimError(400, "invalid_request_error", "anthropic-version: header is required")
    if version is not None and version not in API_VERSIONS:
        raise SimError(
            400, "invalid_request_error", f"anthropic-version: {version!r} is not a valid version"
        )


def _limit(state: SimState, route: Route, headers: dict[str, str]) -> None:
    settings = state.faults.settings
    if settings.rate_limit_storm or (route.family == "compliance" and settings.feed_storm):
        if settings.storm_retry_after is not None:
            headers["retry-after"] = f"{settings.storm_retry_after:g}"
        raise SimError(429, "rate_limit_error", "Rate limit exceeded (storm). Please retry later.")
    decision = state.limits[route.family].admit()
    headers["anthropic-ratelimit-requests-limit"] = str(decision.limit)
    headers["anthropic-ratelimit-requests-remaining"] = str(decision.remaining)
    if not decision.admitted:
        headers["retry-after"] = str(decision.retry_after)
        raise SimError(
            429,
            "rate_limit_error",
            f"This organization's {route.family} rate limit of {decision.limit} requests per "
            "minute was exceeded. Please retry after the time in the retry-after header.",
        )


def _truncate(state: SimState, payload: dict[str, Any], request: web.Request) -> None:
    """Break the cursor of a page that announces more (``truncate_pagination``)."""
    id_style = "last_id" in payload
    if not (payload.get("has_more") if id_style else payload.get("next_page")):
        return
    faults = state.faults
    mode = faults.pick(faults.settings.truncate_mode, TRUNCATE_MODES)
    previous = request.query.get("after_id" if id_style else "page")
    if mode == "repeat" and previous is None:
        mode = "missing"
    if mode == "missing" and "has_more" not in payload:
        mode = "bogus"
    cursor = {"missing": None, "repeat": previous, "bogus": "bogus01TruncatedCursor"}[mode]
    payload["last_id" if id_style else "next_page"] = cursor
    state.stats[f"truncated:{mode}"] += 1


def _malform(state: SimState, payload: dict[str, Any], body: bytes) -> bytes:
    faults = state.faults
    mode = faults.pick(faults.settings.malformed_mode, MALFORMED_MODES)
    state.stats[f"malformed:{mode}"] += 1
    if mode == "truncated":
        return body[: len(body) // 2]
    rows = next(
        (payload[k] for k in ("data", "summaries") if isinstance(payload.get(k), list)), None
    )
    if not rows:
        return orjson.dumps({"unexpected": True})
    if mode == "types" and isinstance(rows[0], dict) and rows[0]:
        name = faults.choice(sorted(rows[0]))
        rows[0] = {**rows[0], name: wrong_type(rows[0][name])}
    else:
        rows[0] = {"type": "unexpected"}
    return orjson.dumps(payload)


def _query(request: web.Request, page_size: int | None) -> MultiDictProxy[str]:
    """The request's query, its ``limit`` capped at ``page_size`` (when set and numeric)."""
    limit = request.query.get("limit", "")
    if page_size is None or not limit.isdigit() or int(limit) <= page_size:
        return request.query
    capped = MultiDict(request.query)
    capped["limit"] = str(page_size)
    return MultiDictProxy(capped)


def _expire(state: SimState, request: web.Request) -> None:
    """Answer 410 for a cursor-bearing request (``expire_cursor_rate``)."""
    if not ("page" in request.query or "after_id" in request.query):
        return
    faults = state.faults
    if faults.roll(faults.settings.expire_cursor_rate):
        state.stats["expired_cursors"] += 1
        raise cursor_expired()


async def _answer(state: SimState, route: Route, request: web.Request) -> web.Response:
    request_id = state.next_request_id()
    headers = {"request-id": request_id, "anthropic-organization-id": state.org.id}
    state.stats[f"requests:{route.family}"] += 1
    faults = state.faults
    try:
        _authorise(state, route, request)
        _limit(state, route, headers)
        _expire(state, request)
        if faults.roll(faults.settings.error_rate):
            status = faults.status()
            raise SimError(status, _ERROR_TYPES.get(status, "api_error"), "Internal server error")
        if faults.roll(faults.settings.timeout_rate):
            state.stats["timeouts"] += 1
            await asyncio.sleep(faults.settings.timeout_seconds)
        started = time.perf_counter()
        query = _query(request, faults.settings.page_size)
        owner = state.feed if route.family == "compliance" else state.api
        arguments = (owner, query, *request.match_info.values())
        payload = (
            await asyncio.to_thread(route.handler, *arguments)
            if route.offload
            else route.handler(*arguments)
        )
    except SimError as error:
        state.stats[f"status:{error.status}"] += 1
        message = error.message
        presented = _presented_key(request)
        if faults.settings.echo_key and presented:
            message = f"{message} (x-api-key: {presented})"
        body = orjson.dumps(shapes.error_body(error.kind, message, request_id))
        return web.Response(
            status=error.status, body=body, content_type="application/json", headers=headers
        )
    state.stats["status:200"] += 1
    if faults.settings.truncate_pagination:
        _truncate(state, payload, request)
    body = orjson.dumps(payload)
    state.stats[f"handler_calls:{route.handler.__name__}"] += 1
    state.stats[f"handler_ms:{route.handler.__name__}"] += (time.perf_counter() - started) * 1000
    if faults.roll(faults.settings.malformed_rate):
        body = _malform(state, payload, body)
    return web.Response(body=body, content_type="application/json", headers=headers)


def setup_routes(app: web.Application, state: SimState) -> None:
    """Register every documented endpoint on ``app``."""
    for route in ROUTES:

        async def handle(request: web.Request, route: Route = route) -> web.Response:
            return await _answer(state, route, request)

        app.router.add_get(route.path, handle)
