"""The Activity Feed client against the simulator: filters, cursors, order, keys and errors."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from streams.client import ActivityQuery, ApiClient, ApiFamily, list_activities
from streams.errors import FeedUnavailable, RateLimited, ReconnectRequired
from tests.fixtures.simulator import SimFactory
from tests.integration.client.helpers import FAST_RETRY, budgets_for

MEMBERSHIP = {
    "claude_user_role_updated",
    "org_user_deleted",
    "org_user_left",
    "scim_user_created",
    "scim_user_deleted",
}


def _feed_client(sim, *, compliance: bool = True, admin: bool = True) -> ApiClient:  # type: ignore[no-untyped-def]
    connector = sim.connector(compliance=compliance, admin=admin, analytics=False)
    return ApiClient(connector, budgets=budgets_for(sim), retry=FAST_RETRY, timeout=10, seed=3)


async def test_feed_lists_every_activity_with_filters_cursors_and_order(
    sim_factory: SimFactory,
) -> None:
    sim = await sim_factory(users=40, seed=5, compliance_rate=6000)
    await sim.advance(hours=1, add=6, remove=6, role_changes=2, activities=12)
    await sim.advance(hours=1, add=2, remove=1, activities=6)
    truth = await sim.activities()
    ordered = sorted(truth, key=lambda row: (row["created_at"], row["id"]))
    assert {row["type"] for row in truth} >= MEMBERSHIP
    actor_kinds = {row["actor"]["type"] for row in truth}
    assert {"user_actor", "scim_directory_sync_actor"} <= actor_kinds

    async with _feed_client(sim) as api:
        ascending = (await list_activities(api, ActivityQuery())).raise_for_error()
        paged = (await list_activities(api, ActivityQuery(limit=3))).raise_for_error()
        descending = await list_activities(api, ActivityQuery(order="desc", limit=4))
        roles = await list_activities(
            api, ActivityQuery(activity_types=["claude_user_role_updated"])
        )
        middle = ordered[len(ordered) // 2]
        since = datetime.fromisoformat(middle["created_at"])
        later = await list_activities(api, ActivityQuery(created_gte=since))
        actor = next(row["actor"]["user_id"] for row in truth if row["actor"].get("user_id"))
        by_actor = await list_activities(api, ActivityQuery(actor_ids=[actor]))
        after = await list_activities(api, ActivityQuery(after_id=middle["id"]))

    assert [a.id for a in ascending.rows] == [row["id"] for row in ordered]
    assert paged.pages > 1 and [a.id for a in paged.rows] == [row["id"] for row in ordered]
    assert [a.id for a in descending.rows] == [row["id"] for row in reversed(ordered)]
    assert {a.type for a in roles.rows} == {"claude_user_role_updated"}
    assert len(roles.rows) == sum(row["type"] == "claude_user_role_updated" for row in truth)
    assert [a.id for a in later.rows] == [
        row["id"] for row in ordered if row["created_at"] >= middle["created_at"]
    ]
    assert by_actor.rows and all(a.actor.user_id == actor for a in by_actor.rows)
    position = [row["id"] for row in ordered].index(middle["id"])
    assert [a.id for a in after.rows] == [row["id"] for row in ordered[position + 1 :]]

    # Nothing is lost: typed common fields and actor, everything else kept as is.
    by_id = {row["id"]: row for row in truth}
    for activity in ascending.rows:
        row = by_id[activity.id]
        rebuilt = {
            "id": activity.id,
            "created_at": row["created_at"],
            "organization_id": activity.organization_id,
            "organization_uuid": activity.organization_uuid,
            "type": activity.type,
            "actor": {
                "type": activity.actor.type,
                **{
                    name: getattr(activity.actor, name)
                    for name in row["actor"]
                    if name != "type" and name not in activity.actor.details
                },
                **activity.actor.details,
            },
            **activity.details,
        }
        assert rebuilt == row
        if row["type"] == "claude_user_role_updated":
            assert activity.target_user_id == row["user_id"]
        if row["type"] == "org_user_deleted":
            assert activity.target_user_id == row["deleted_user_id"]


async def test_query_rejects_what_the_api_would_refuse() -> None:
    with pytest.raises(ValueError, match="cannot be combined"):
        ActivityQuery(activity_types=["a"], exclude_activity_types=["b"])
    with pytest.raises(ValueError, match="limit"):
        ActivityQuery(limit=5001)
    with pytest.raises(ValueError, match="after_id or before_id"):
        ActivityQuery(after_id="a", before_id="b")


async def test_simulator_answers_bad_feed_parameters_as_documented(
    sim_factory: SimFactory,
) -> None:
    sim = await sim_factory(users=10)
    headers = {"x-api-key": sim.config.compliance_key}
    path = "/v1/compliance/activities"
    for params, fragment in (
        ({"created_at.gte": "2024-01-01"}, "invalid timestamp format"),
        ({"limit": "6000"}, "must be between 1 and 5000"),
        ({"after_id": "activity_invalid123"}, "No activity found"),
    ):
        response = await sim.http.get(path, params=params, headers=headers)
        assert response.status_code == 400, params
        assert fragment in response.json()["error"]["message"]
    analytics_only = await sim.http.get(path, headers={"x-api-key": sim.config.analytics_key})
    assert analytics_only.status_code == 403
    assert "read:compliance_activities" in analytics_only.json()["error"]["message"]


async def test_admin_key_is_the_fallback_and_feed_errors_are_typed(
    sim_factory: SimFactory,
) -> None:
    enterprise = await sim_factory(users=20, seed=2)
    async with _feed_client(enterprise, compliance=False) as api:
        refused = await list_activities(api, ActivityQuery())
        assert isinstance(refused.error, FeedUnavailable), "an Enterprise read:members key"
    sim = await sim_factory(users=20, seed=2, org_kind="console")
    await sim.advance(hours=1, add=2, activities=2)
    async with _feed_client(sim, compliance=False) as api:
        assert api.has_key(ApiFamily.COMPLIANCE)
        assert (await list_activities(api, ActivityQuery())).completed, "a Console Admin key"
        for status in (403, 404):
            await sim.faults(feed_off=status)
            listing = await list_activities(api, ActivityQuery())
            assert isinstance(listing.error, FeedUnavailable) and listing.error.status == status
            assert (await api.members()).completed, "only the feed is off"
        await sim.faults(feed_storm=True, storm_retry_after=0.01)
        listing = await list_activities(api, ActivityQuery())
        assert isinstance(listing.error, RateLimited)
        assert (await api.members()).completed
        await sim.faults(revoke_keys=True)
        listing = await list_activities(api, ActivityQuery())
        assert isinstance(listing.error, ReconnectRequired) and listing.error.status == 401
    analytics_only = sim.connector(admin=False)
    async with ApiClient(analytics_only, budgets=budgets_for(sim)) as api:
        assert not api.has_key(ApiFamily.COMPLIANCE)


async def test_feed_lag_delays_rows_and_some_show_after_later_ones(
    sim_factory: SimFactory,
) -> None:
    lag = 0.4
    sim = await sim_factory(users=60, seed=8, feed_lag=lag)
    await sim.advance(hours=1, add=6, remove=4, role_changes=4, activities=20)
    truth = await sim.activities()
    async with _feed_client(sim) as api:
        assert (await list_activities(api, ActivityQuery())).rows == ()
        await asyncio.sleep(lag * 1.5)
        early = (await list_activities(api, ActivityQuery())).raise_for_error()
        await asyncio.sleep(lag * 2)
        final = (await list_activities(api, ActivityQuery())).raise_for_error()
    assert 0 < len(early.rows) < len(truth) == len(final.rows)
    newest_early = max((a.created_at, a.id) for a in early.rows)
    seen = {a.id for a in early.rows}
    assert any((a.created_at, a.id) < newest_early for a in final.rows if a.id not in seen), (
        "a row older than one already visible became visible later"
    )
