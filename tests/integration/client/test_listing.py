"""The client lists the simulator completely, with the minimum requests and no 429."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from datetime import UTC, datetime

import httpx

from streams.client import ApiClient, ApiFamily, RateBudgets
from streams.client import endpoints as ep
from streams.errors import EndpointUnavailable
from tests.fixtures.simulator import SimFactory
from tests.integration.client.helpers import FAST_RETRY, YESTERDAY, budgets_for, client_for


async def test_roster_and_a_day_of_analytics_for_10000_users(sim_factory: SimFactory) -> None:
    sim = await sim_factory(users=10_000, seed=11, analytics_rate=1200, admin_rate=2000)
    async with client_for(sim) as api:
        roster, usage = await asyncio.gather(api.members(), api.analytics_users(YESTERDAY))
    truth = await sim.truth(since=YESTERDAY.isoformat(), until=YESTERDAY.isoformat())

    assert roster.completed and roster.error is None
    assert roster.requests == roster.pages == 10 and roster.rate_limited == 0
    assert [m.id for m in roster.rows] == [u["id"] for u in truth["users"]]
    assert {(m.email, m.role) for m in roster.rows} == {
        (u["email"], u["role"]) for u in truth["users"]
    }

    eligible = {u["id"] for u in truth["users"] if u["added_at"][:10] <= YESTERDAY.isoformat()}
    assert usage.completed and usage.rate_limited == 0
    assert usage.requests == usage.pages == math.ceil(len(eligible) / 1000)
    assert {row.user_id for row in usage.rows} == eligible
    emails = [row.email for row in usage.rows]
    assert emails == sorted(emails)
    day = YESTERDAY.isoformat()
    for row in usage.rows:
        figures = truth["usage"].get(row.user_id, {}).get(day, {})
        assert row.message_count == figures.get("message_count", 0)
        assert row.session_count == figures.get("session_count", 0)
    assert sum(row.message_count for row in usage.rows) > 0
    assert "status:429" not in await sim.stats()


async def test_pacing_keeps_concurrent_listings_under_the_window(sim_factory: SimFactory) -> None:
    """20 pages from two connectors on one organisation, sharing its budget of 10 per
    (shortened) window: no 429."""
    sim = await sim_factory(users=300, seed=2, admin_rate=600, rate_window=1.0)
    budgets = budgets_for(sim)
    started = time.monotonic()
    other = dataclasses.replace(sim.connector(), name="second-connector")
    async with (
        client_for(sim, budgets=budgets) as first,
        ApiClient(other, budgets=budgets, retry=FAST_RETRY) as second,
    ):
        listings = await asyncio.gather(
            first.fetch(ep.MEMBERS, {"limit": 30}), second.fetch(ep.MEMBERS, {"limit": 30})
        )
    elapsed = time.monotonic() - started
    assert all(listing.completed and listing.rate_limited == 0 for listing in listings)
    assert sum(listing.requests for listing in listings) == 20
    assert "status:429" not in await sim.stats()
    assert 1.8 <= elapsed <= 4.0


async def test_without_pacing_the_same_load_is_rate_limited(sim_factory: SimFactory) -> None:
    """The control for the test above: an unpaced client does get 429s, and recovers."""
    sim = await sim_factory(users=600, seed=2, admin_rate=600, rate_window=1.0)
    unpaced = RateBudgets({ApiFamily.ADMIN: 600_000}, window=1.0)
    async with client_for(sim, budgets=unpaced) as api:
        listing = await api.fetch(ep.MEMBERS, {"limit": 30})
    assert listing.completed and listing.rate_limited > 0
    assert (await sim.stats())["status:429"] == listing.rate_limited


async def test_every_listing_completes_for_the_org_kinds_that_have_it(
    sim_factory: SimFactory,
) -> None:
    rates = {"analytics_rate": 6000, "admin_rate": 6000}
    enterprise = await sim_factory(users=400, seed=3, **rates)
    console = await sim_factory(users=400, seed=3, org_kind="console", **rates)
    start, end = datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)
    async with client_for(enterprise) as api:
        organization = await api.organization()
        refused = await api.workspaces()
        listings = await asyncio.gather(
            api.members(),
            api.invites(),
            api.summaries(YESTERDAY.replace(day=1)),
            api.connectors(YESTERDAY),
            api.skills(YESTERDAY),
            api.chat_projects(YESTERDAY),
            api.user_usage(start, end),
            api.user_cost(start, end),
            api.usage_report(start, end),
            api.cost_report(start, end),
            api.analytics_users(starting_date=YESTERDAY.replace(day=1), ending_date=YESTERDAY),
        )
    assert organization.id == enterprise.state.org.id
    assert isinstance(refused.error, EndpointUnavailable) and refused.error.status == 404
    summaries = listings[2].rows
    assert summaries[-1].starting_date == YESTERDAY
    assert listings[6].meta["data_refreshed_at"] == "2026-11-20T08:00:00Z"
    async with client_for(console) as api:
        assert not api.has_key(ApiFamily.ANALYTICS)
        workspaces = await api.workspaces()
        listings += await asyncio.gather(
            api.members(),
            api.invites(),
            api.api_keys(),
            api.claude_code_usage(YESTERDAY),
            api.console_cost_report(start, end),
            api.workspace_members(workspaces.rows[0].id),
        )
    for listing in (workspaces, *listings):
        assert listing.completed, (listing.endpoint, listing.error)
        assert listing.rows, listing.endpoint


async def test_the_simulator_accepts_bearer_keys(sim_factory: SimFactory) -> None:
    sim = await sim_factory(users=10)
    async with httpx.AsyncClient(base_url=sim.url) as http:
        response = await http.get(
            "/v1/organizations/analytics/users",
            params={"date": YESTERDAY.isoformat()},
            headers={"authorization": f"Bearer {sim.config.analytics_key}"},
        )
    assert response.status_code == 200 and len(response.json()["data"]) >= 1
