"""The route table of documented endpoints and the pipeline every API request goes through.

Pipeline: request-id → key (``x-api-key`` or ``Authorization: Bearer``) → scope →
``anthropic-version`` (Admin API) → org-wide rate limit per family → injected faults →
handler → documented JSON, then the faults that spoil an answer (cursors, malformation).
Errors use the documented body ``{"type":"error","error":{"type","message"},"request_id"}``
and a ``request-id`` header.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from streams.simulator import shapes
from streams.simulator.faults import MALFORMED_MODES, TRUNCATE_MODES, Faults, wrong_type
from streams.simulator.feed import ActivityFeed, feed_disabled
from streams.simulator.handlers import Api, SimError, cursor_expired
from streams.simulator.org import Org, SimConfig, tagged_id
from streams.simulator.ratelimit import SlidingWindow

Family = Literal["analytics", "admin", "compliance"]
ANALYTICS = "/v1/organizations/analytics"
_ERROR_TYPES = {
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_SCOPE_NEEDED = {
    "analytics": "read:analytics",
    "admin": "read:members",
    "console": "org:admin",
    "compliance": "read:compliance_activities",
}


@dataclass(frozen=True)
class Route:
    """One documented endpoint: path, rate/key family, the ``Api`` method that answers it."""

    path: str
    family: Family
    handler: str
    console_only: bool = False
    legacy_not_found: bool = False

    @property
    def scope(self) -> str:
        return _SCOPE_NEEDED["console" if self.console_only else self.family]


def _admin(path: str, handler: str, *, console: bool = False) -> Route:
    return Route(f"/v1/organizations/{path}", "admin", handler, console_only=console)


def _analytics(path: str, handler: str, *, engagement: bool = True) -> Route:
    return Route(f"{ANALYTICS}/{path}", "analytics", handler, legacy_not_found=engagement)


ROUTES: tuple[Route, ...] = (
    _admin("me", "me"),
    _admin("users", "users"),
    _admin("users/{user_id}", "user"),
    _admin("invites", "invites"),
    _admin("workspaces", "workspaces", console=True),
    _admin("workspaces/{workspace_id}/members", "workspace_members", console=True),
    _admin("api_keys", "api_keys", console=True),
    _admin("usage_report/claude_code", "claude_code_usage", console=True),
    _admin("cost_report", "console_cost_report", console=True),
    _analytics("users", "analytics_users"),
    _analytics("summaries", "summaries"),
    _analytics("connectors", "connectors"),
    _analytics("skills", "skills"),
    _analytics("apps/chat/projects", "chat_projects"),
    _analytics("user_usage_report", "user_usage_report", engagement=False),
    _analytics("user_cost_report", "user_cost_report", engagement=False),
    _analytics("usage_report", "usage_report", engagement=False),
    _analytics("cost_report", "cost_report", engagement=False),
    Route("/v1/compliance/activities", "compliance", "activities"),
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
            },
        )

    def next_request_id(self) -> str:
        self._requests += 1
        return tagged_id("req_", self.org.key, self._requests)

    def scopes(self, key: str | None) -> frozenset[str] | None:
        """The scopes ``key`` carries, or None for an unknown key."""
        scopes: set[str] = set()
        if key == self.config.analytics_key:
            scopes.add("read:analytics")
        if key == self.config.admin_key:
            scopes |= {"read:members", "org:admin", "read:compliance_activities"}
        if key == self.config.compliance_key:
            scopes.add("read:compliance_activities")
        return frozenset(scopes) if scopes else None


def _presented_key(request: web.Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _authorise(state: SimState, route: Route, request: web.Request) -> None:
    legacy_404 = state.config.dialect == "legacy" and route.legacy_not_found
    scopes = state.scopes(_presented_key(request))
    if state.faults.settings.revoke_keys or scopes is None:
        message = "API key has been revoked" if scopes else "invalid x-api-key"
        if legacy_404:
            raise SimError(404, "not_found_error", "API key not found or lacks read:analytics")
        raise SimError(401, "authentication_error", message)
    if route.scope not in scopes:
        if legacy_404:
            raise SimError(404, "not_found_error", "API key not found or lacks read:analytics")
        raise SimError(
            403,
            "permission_error",
            f"Missing required scopes. Got: {sorted(scopes)} Needed: [{route.scope!r}]",
        )
    if route.family == "compliance" and state.faults.settings.feed_off is not None:
        raise feed_disabled(state.faults.settings.feed_off)
    if route.family == "admin" and "anthropic-version" not in request.headers:
        raise SimError(400, "invalid_request_error", "anthropic-version: header is required")


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
        answering = state.feed if route.family == "compliance" else state.api
        payload = getattr(answering, route.handler)(query, *request.match_info.values())
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
    state.stats[f"handler_calls:{route.handler}"] += 1
    state.stats[f"handler_ms:{route.handler}"] += (time.perf_counter() - started) * 1000
    if faults.roll(faults.settings.malformed_rate):
        body = _malform(state, payload, body)
    return web.Response(body=body, content_type="application/json", headers=headers)


def setup_routes(app: web.Application, state: SimState) -> None:
    """Register every documented endpoint on ``app``."""
    for route in ROUTES:

        async def handle(request: web.Request, route: Route = route) -> web.Response:
            return await _answer(state, route, request)

        app.router.add_get(route.path, handle)
