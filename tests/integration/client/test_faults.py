"""Every fault mode ends complete and correct, or incomplete with a typed error: never short."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from streams.client import ApiClient
from streams.client import endpoints as ep
from streams.client.endpoints import EndpointSpec
from streams.errors import (
    ApiRequestRejected,
    ApiResponseError,
    EndpointUnavailable,
    RateLimited,
    ReconnectRequired,
    TransientApiError,
)
from tests.fixtures.simulator import SimFactory
from tests.integration.client.helpers import YESTERDAY, client_for

FAST_SIM = {"users": 600, "seed": 21, "analytics_rate": 100_000, "admin_rate": 100_000}
LISTINGS: dict[str, tuple[EndpointSpec[Any], dict[str, Any]]] = {
    "roster (ID cursor)": (ep.MEMBERS, {"limit": 100}),
    "analytics users (page token)": (ep.ANALYTICS_USERS, {"date": YESTERDAY, "limit": 100}),
    "user usage (page token, has_more)": (
        ep.USER_USAGE,
        {
            "starting_at": datetime(2026, 11, 16, tzinfo=UTC),
            "ending_at": datetime(2026, 11, 20, tzinfo=UTC),
            "bucket_width": "1d",
            "limit": 200,
        },
    ),
}
MAYBE = "complete or typed error"
BROKEN_CURSOR = (ApiResponseError, ApiRequestRejected)
# name: (fault settings, typed errors allowed, may it complete?, stats key proving injection)
FAULTS: dict[str, tuple[dict[str, Any], tuple[type[Exception], ...], str, str]] = {
    "5xx": ({"error_rate": 0.25}, (TransientApiError,), MAYBE, "status:5"),
    "5xx always": (
        {"error_rate": 1.0, "statuses": [529]},
        (TransientApiError,),
        "fails",
        "status:529",
    ),
    "timeouts": (
        {"timeout_rate": 0.15, "timeout_seconds": 0.5},
        (TransientApiError,),
        MAYBE,
        "timeouts",
    ),
    "cut-off JSON": (
        {"malformed_rate": 0.2, "malformed_mode": "truncated"},
        (ApiResponseError,),
        MAYBE,
        "malformed:truncated",
    ),
    "rows missing fields": (
        {"malformed_rate": 1.0, "malformed_mode": "shape"},
        (ApiResponseError,),
        "fails",
        "malformed:shape",
    ),
    "cursor missing": (
        {"truncate_pagination": True, "truncate_mode": "missing"},
        BROKEN_CURSOR,
        "fails",
        "truncated:",
    ),
    "cursor repeated": (
        {"truncate_pagination": True, "truncate_mode": "repeat"},
        BROKEN_CURSOR,
        "fails",
        "truncated:",
    ),
    "cursor bogus": (
        {"truncate_pagination": True, "truncate_mode": "bogus"},
        (ApiRequestRejected,),
        "fails",
        "truncated:bogus",
    ),
    "429 storm": (
        {"rate_limit_storm": True, "storm_retry_after": 0.05},
        (RateLimited,),
        "fails",
        "status:429",
    ),
    "keys revoked": ({"revoke_keys": True}, (ReconnectRequired,), "fails", "status:401"),
}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("listing", LISTINGS)
async def test_faults_never_produce_a_silently_short_listing(
    sim_factory: SimFactory, listing: str, fault: str
) -> None:
    spec, params = LISTINGS[listing]
    settings, errors, outcome, evidence = FAULTS[fault]
    sim = await sim_factory(**FAST_SIM)
    async with client_for(sim, timeout=0.2) as api:
        reference = await api.fetch(spec, params)
        assert reference.completed and reference.pages > 1
        await sim.faults(**settings)
        result = await api.fetch(spec, params)
    stats = await sim.stats()
    assert any(key.startswith(evidence) for key in stats), f"{fault} was never injected: {stats}"

    if result.completed:
        assert outcome == MAYBE, f"{fault} should not complete"
        assert result.error is None
        assert result.rows == reference.rows
    else:
        assert isinstance(result.error, errors), result.error
        assert result.error.endpoint == spec.path
        assert len(result.rows) < len(reference.rows) or result.pages < reference.pages


async def test_a_revoked_key_is_reconnect_required_and_never_leaks(
    sim_factory: SimFactory, caplog: pytest.LogCaptureFixture
) -> None:
    sim = await sim_factory(users=50)
    caplog.set_level(logging.DEBUG)
    await sim.faults(revoke_keys=True)
    async with client_for(sim) as api:
        roster = await api.members()
        usage = await api.analytics_users(YESTERDAY)
    for listing in (roster, usage):
        assert isinstance(listing.error, ReconnectRequired)
        assert listing.requests == 1 and listing.error.status == 401
        assert listing.error.request_id and listing.error.request_id.startswith("req_")
    secrets = (sim.config.analytics_key, sim.config.admin_key)
    texts = [caplog.text, str(roster.error), str(usage.error), repr(roster), repr(usage)]
    for secret in secrets:
        assert all(secret not in text for text in texts)
        assert all(secret[12:] not in text for text in texts)
    assert "revoked" in str(roster.error)


async def test_a_key_without_the_scope_finds_the_endpoint_unavailable(
    sim_factory: SimFactory,
) -> None:
    sim = await sim_factory(users=20)
    connector = sim.connector()
    swapped = connector.__class__(
        name="swapped",
        api_base_url=sim.url,
        analytics_api_key=connector.admin_api_key,
        admin_api_key=connector.analytics_api_key,
    )
    async with ApiClient(swapped) as api:
        roster = await api.members()
        usage = await api.analytics_users(YESTERDAY)
    assert isinstance(roster.error, EndpointUnavailable) and roster.error.status == 403
    assert roster.error.scope == "read:members"
    assert "Needed: ['read:members']" in str(roster.error)
    assert isinstance(usage.error, EndpointUnavailable) and usage.error.status == 403
    assert usage.error.scope == "read:analytics"


async def test_legacy_dialect_answers_bad_keys_with_404_and_old_spellings(
    sim_factory: SimFactory,
) -> None:
    sim = await sim_factory(users=200, seed=4, dialect="legacy", analytics_rate=6000)
    start, end = datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)
    async with client_for(sim) as api:
        summaries = await api.summaries(YESTERDAY.replace(day=1))
        costs = await api.user_cost(start, end)
        users = await api.analytics_users(YESTERDAY)
        await sim.faults(revoke_keys=True)
        refused = await api.analytics_users(YESTERDAY)
    assert summaries.completed and summaries.rows[-1].starting_date == YESTERDAY
    assert costs.completed and any(row.actor.email for row in costs.rows)
    assert users.completed and any("science_metrics.message_count" in r.metrics for r in users.rows)
    assert isinstance(refused.error, EndpointUnavailable) and refused.error.status == 404


class AdvanceAfterFirstPage(httpx.AsyncBaseTransport):
    """A real transport that moves the simulator's clock once the first page is in."""

    def __init__(self, advance: Any) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._advance = advance
        self.pages = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        self.pages += 1
        if self.pages == 1:
            self._advance(hours=1)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_a_cursor_expired_by_a_data_refresh_restarts_the_listing(
    sim_factory: SimFactory,
) -> None:
    sim = await sim_factory(users=300, seed=8, analytics_rate=100_000)
    params = LISTINGS["user usage (page token, has_more)"][1] | {"limit": 50}
    transport = AdvanceAfterFirstPage(sim.state.org.advance)
    async with client_for(sim, transport=transport) as api:
        restarted = await api.fetch(ep.USER_USAGE, params)
    async with client_for(sim) as api:
        fresh = await api.fetch(ep.USER_USAGE, params)
    assert restarted.completed and restarted.restarts == 1
    assert restarted.rows == fresh.rows
    assert (await sim.stats())["status:410"] == 1


async def test_a_cursor_replayed_with_other_parameters_is_rejected(sim_factory: SimFactory) -> None:
    sim = await sim_factory(users=300, seed=8, analytics_rate=100_000)
    params = LISTINGS["user usage (page token, has_more)"][1] | {"limit": 50}
    async with client_for(sim) as api:
        first = await anext(api.pages(ep.USER_USAGE, params))
        changed = params | {"products[]": ["chat"], "page": first.envelope["next_page"]}
        listing = await api.fetch(ep.USER_USAGE, changed)
    assert isinstance(listing.error, ApiRequestRejected) and listing.error.status == 400
    assert listing.requests == 1
