"""Pagination is stable, errors follow the documented body, time and churn are deterministic."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from streams.client import endpoints as ep
from streams.simulator import RunningSimulator
from tests.contract.simulator import org_kind_for
from tests.fixtures.simulator import SimFactory

DAY = "2026-11-19"
RANGE = {"starting_at": "2026-11-12T00:00:00Z", "ending_at": "2026-11-20T00:00:00Z"}


async def _call(sim: RunningSimulator, path: str, key: str | None, **params: Any) -> httpx.Response:
    headers = {"anthropic-version": "2023-06-01"}
    if key is not None:
        headers["x-api-key"] = key
    return await sim.http.get(path, params=params, headers=headers)


async def _walk(sim: RunningSimulator, path: str, key: str, cursor: str, **params: Any) -> list:
    """Every row of a listing, following the cursor of ``cursor`` style by hand."""
    rows: list = []
    follow: dict[str, str] = {}
    seen = 0
    while True:
        response = await _call(sim, path, key, **params, **follow)
        assert response.status_code == 200, response.text
        body = response.json()
        rows.extend(body["data"])
        seen += 1
        if cursor == "after_id":
            if not body["has_more"]:
                return rows
            follow = {"after_id": body["last_id"]}
        else:
            if body["next_page"] is None:
                return rows
            follow = {"page": body["next_page"]}
        assert seen < 1000


@pytest.mark.parametrize(
    ("path", "family", "cursor", "params"),
    [
        (ep.MEMBERS.path, "admin", "after_id", {}),
        (ep.INVITES.path, "admin", "after_id", {}),
        (ep.API_KEYS.path, "admin", "after_id", {}),
        (ep.ANALYTICS_USERS.path, "analytics", "page", {"date": DAY}),
        (ep.CONNECTORS.path, "analytics", "page", {"date": DAY, "group_by[]": "user_id"}),
        (ep.USER_USAGE.path, "analytics", "page", RANGE | {"bucket_width": "1d"}),
        (ep.CLAUDE_CODE_USAGE.path, "admin", "page", {"starting_at": DAY}),
    ],
)
async def test_small_pages_concatenate_to_the_full_listing(
    sim_factory: SimFactory, path: str, family: str, cursor: str, params: dict
) -> None:
    sim = await sim_factory(
        users=400,
        seed=12,
        analytics_rate=100_000,
        admin_rate=100_000,
        org_kind=org_kind_for(path),
    )
    key = sim.config.analytics_key if family == "analytics" else sim.config.admin_key
    whole = await _walk(sim, path, key, cursor, **params, limit=1000)
    small = max(3, len(whole) // 20)
    paged = await _walk(sim, path, key, cursor, **params, limit=small)
    assert len(whole) > 2 * small
    assert paged == whole


async def test_members_are_newest_first_and_pages_go_both_ways(sim_factory: SimFactory) -> None:
    sim = await sim_factory(users=60, seed=12)
    key = sim.config.admin_key
    first = (await _call(sim, ep.MEMBERS.path, key, limit=10)).json()
    second = (await _call(sim, ep.MEMBERS.path, key, limit=10, after_id=first["last_id"])).json()
    back = (await _call(sim, ep.MEMBERS.path, key, limit=10, before_id=second["first_id"])).json()
    assert back["data"] == first["data"]
    stamps = [row["added_at"] for row in first["data"] + second["data"]]
    assert stamps == sorted(stamps, reverse=True)
    assert (first["first_id"], first["last_id"]) == (
        first["data"][0]["id"],
        first["data"][-1]["id"],
    )


async def test_a_listing_survives_churn_between_pages(sim_factory: SimFactory) -> None:
    """A member removed after being returned as ``last_id`` still anchors the next page."""
    sim = await sim_factory(users=100, seed=12)
    key = sim.config.admin_key
    first = (await _call(sim, ep.MEMBERS.path, key, limit=20)).json()
    anchor = sim.state.org.by_id[first["last_id"]]
    anchor.removed_at = sim.state.org.now
    sim.state.org.advance(add=5)
    rest = (await _call(sim, ep.MEMBERS.path, key, limit=1000, after_id=anchor.id)).json()
    ids = [row["id"] for row in first["data"] + rest["data"]]
    assert len(ids) == len(set(ids)) == 100
    assert anchor.id not in {row["id"] for row in rest["data"]}


def _error_shape(response: httpx.Response, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"type", "error", "request_id"} and body["type"] == "error"
    assert set(body["error"]) == {"type", "message"} and body["error"]["type"] == kind
    assert body["request_id"] == response.headers["request-id"]
    return body["error"]["message"]


async def test_errors_use_the_documented_body(sim_factory: SimFactory) -> None:
    sim = await sim_factory(users=30, seed=1, admin_rate=2)
    admin, analytics = sim.config.admin_key, sim.config.analytics_key
    _error_shape(await _call(sim, ep.MEMBERS.path, None), 401, "authentication_error")
    _error_shape(
        await _call(sim, ep.MEMBERS.path, "sk-ant-admin01-wrong"), 401, "authentication_error"
    )
    message = _error_shape(await _call(sim, ep.MEMBERS.path, analytics), 403, "permission_error")
    assert message == "Missing required scopes. Got: ['read:analytics'] Needed: ['read:members']"
    message = _error_shape(
        await _call(sim, ep.ANALYTICS_USERS.path, admin, date=DAY), 403, "permission_error"
    )
    assert "read:analytics" in message
    _error_shape(
        await _call(sim, "/v1/organizations/users/user_01nobody", admin), 404, "not_found_error"
    )
    _error_shape(
        await _call(sim, ep.MEMBERS.path, admin, after_id="user_01nobody"),
        400,
        "invalid_request_error",
    )
    limited = await _call(sim, ep.MEMBERS.path, admin)
    _error_shape(limited, 429, "rate_limit_error")
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["anthropic-ratelimit-requests-limit"] == "2"
    assert limited.headers["anthropic-ratelimit-requests-remaining"] == "0"
    missing_version = await sim.http.get(ep.INVITES.path, headers={"x-api-key": admin})
    _error_shape(missing_version, 400, "invalid_request_error")


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"date": "2026-11-20"}, "most recent available date is 2026-11-19"),
        ({"date": "2025-12-31"}, "no data exists before 2026-01-01"),
        ({"date": "19/11/2026"}, "YYYY-MM-DD"),
        ({}, "date or starting_date is required"),
        ({"date": DAY, "starting_date": DAY}, "not both"),
        ({"date": DAY, "limit": "1001"}, "between 1 and 1000"),
        ({"date": DAY, "page": "bogus"}, "not a valid page cursor"),
    ],
)
async def test_engagement_parameter_errors(
    sim_factory: SimFactory, params: dict, fragment: str
) -> None:
    sim = await sim_factory(users=30)
    response = await _call(sim, ep.ANALYTICS_USERS.path, sim.config.analytics_key, **params)
    assert fragment in _error_shape(response, 400, "invalid_request_error")


async def test_report_cursors_expire_on_refresh_and_bind_to_the_query(
    sim_factory: SimFactory,
) -> None:
    sim = await sim_factory(users=200, seed=3)
    key = sim.config.analytics_key
    params = RANGE | {"bucket_width": "1d", "limit": 5}
    first = (await _call(sim, ep.USER_USAGE.path, key, **params)).json()
    assert first["has_more"] and first["next_page"]
    changed = await _call(
        sim, ep.USER_USAGE.path, key, **params, page=first["next_page"], **{"products[]": "chat"}
    )
    assert "does not match" in _error_shape(changed, 400, "invalid_request_error")
    await sim.advance(hours=1)
    expired = await _call(sim, ep.USER_USAGE.path, key, **params, page=first["next_page"])
    assert "restart" in _error_shape(expired, 410, "invalid_request_error")


async def test_advance_is_deterministic_per_seed(sim_factory: SimFactory) -> None:
    results = []
    for seed in (5, 5, 6):
        sim = await sim_factory(users=200, seed=seed)
        changes = [
            await sim.advance(hours=6, add=4, remove=3, role_changes=2),
            await sim.advance(days=2, add=1, remove=1),
        ]
        results.append((changes, await sim.truth(since="2026-11-15")))
    assert results[0] == results[1]
    assert results[0] != results[2]
    changes, truth = results[0]
    assert truth["now"] == "2026-11-22T18:00:00Z" and truth["latest_analytics_date"] == "2026-11-21"
    removed = {user_id for change in changes for user_id in change["removed"]}
    assert len(removed) == 4 and not removed & {user["id"] for user in truth["users"]}
    assert len(truth["users"]) == 200 + 5 - 4


async def test_removed_members_show_as_deleted_actors_in_cost_rows(sim_factory: SimFactory) -> None:
    sim = await sim_factory(users=200, seed=5)
    change = await sim.advance(hours=1, remove=20)
    removed = set(change["removed"])
    costs = await _call(sim, ep.USER_COST.path, sim.config.analytics_key, **RANGE, limit=1000)
    actors = [row["actor"] for row in costs.json()["data"]]
    flagged = {actor["user_id"] for actor in actors if actor["deleted"]}
    assert flagged and flagged <= removed
    assert all(actor["deleted"] == (actor["user_id"] in removed) for actor in actors)
    deleted_accounts = [a for a in actors if a["deleted"] and a["email_address"] is None]
    assert all(actor["name"] == "Deleted User" for actor in deleted_accounts)


async def test_directory_file_and_truth_agree(sim_factory: SimFactory, tmp_path: Any) -> None:
    path = tmp_path / "directory.jsonl"
    sim = await sim_factory(users=300, seed=4, unmanaged_fraction=0.2, directory_out=path)
    import orjson

    entries = [orjson.loads(line) for line in path.read_text().splitlines()]
    truth = await sim.truth(usage="false")
    managed = {u["email"] for u in truth["users"] if u["managed"]}
    assert {e["email"] for e in entries} == managed
    assert {e["status"] for e in entries} <= {"active", "deprovisioned"}
    assert all(set(e) == {"email", "employee_id", "status"} for e in entries)
    unmanaged = [u for u in truth["users"] if not u["managed"]]
    assert 0.12 < len(unmanaged) / 300 < 0.3
    change = await sim.advance(remove=10)
    rewritten = {
        orjson.loads(line)["email"]: orjson.loads(line)["status"]
        for line in path.read_text().splitlines()
    }
    removed_emails = {u["email"] for u in truth["users"] if u["id"] in change["removed"]}
    assert all(rewritten[email] == "deprovisioned" for email in removed_emails & managed)


async def test_control_endpoints_validate_input(sim_factory: SimFactory) -> None:
    sim = await sim_factory(users=10)
    http = sim.http
    assert (await http.post("/_sim/faults", json={"error_rate": 3})).status_code == 400
    assert (await http.post("/_sim/advance", json={"hours": -1})).status_code == 400
    assert (await http.post("/_sim/advance", json={"weeks": 1})).status_code == 400
    assert (await http.get("/_sim/truth", params={"since": "soon"})).status_code == 400
    assert (await sim.faults(error_rate=0.5))["error_rate"] == 0.5
    assert (await sim.clear_faults())["error_rate"] == 0.0


async def test_org_kinds_serve_what_the_availability_table_says(sim_factory: SimFactory) -> None:
    console = await sim_factory(users=20, seed=1, org_kind="console")
    enterprise = await sim_factory(users=20, seed=1)
    admin = console.config.admin_key
    assert (await _call(console, ep.API_KEYS.path, admin)).status_code == 200
    assert (await _call(console, ep.MEMBERS.path, admin)).status_code == 200
    message = _error_shape(
        await _call(console, ep.ANALYTICS_USERS.path, admin, date=DAY), 404, "not_found_error"
    )
    assert "not available to console organizations" in message
    _error_shape(
        await _call(console, ep.MEMBERS.path, console.config.analytics_key),
        401,
        "authentication_error",
    )
    _error_shape(
        await _call(enterprise, ep.API_KEYS.path, enterprise.config.admin_key),
        404,
        "not_found_error",
    )


@pytest.mark.parametrize(("version", "status"), [("2023-06-01", 200), ("2026-10-21", 200)])
async def test_both_documented_api_versions_are_accepted(
    sim_factory: SimFactory, version: str, status: int
) -> None:
    sim = await sim_factory(users=5, seed=1)
    response = await sim.http.get(
        ep.MEMBERS.path,
        headers={"authorization": f"Bearer {sim.config.admin_key}", "anthropic-version": version},
    )
    assert response.status_code == status
    response = await sim.http.get(
        ep.MEMBERS.path,
        headers={"x-api-key": sim.config.admin_key, "anthropic-version": "1999-01-01"},
    )
    _error_shape(response, 400, "invalid_request_error")


async def test_spend_limits_are_enterprise_only_and_agree_with_the_requests(
    sim_factory: SimFactory,
) -> None:
    console = await sim_factory(users=20, seed=1, org_kind="console")
    message = _error_shape(
        await _call(console, ep.EFFECTIVE_SPEND_LIMITS.path, console.config.admin_key),
        400,
        "invalid_request_error",
    )
    assert "organization_type_not_supported" in message
    sim = await sim_factory(users=120, seed=4, spend_limit_share=0.5)
    admin = sim.config.admin_key
    rows = await _walk(sim, ep.EFFECTIVE_SPEND_LIMITS.path, admin, "page", limit=7)
    assert len(rows) == len({row["actor"]["user_id"] for row in rows}) == 120
    own = [row for row in rows if row["scope"]["type"] == "user"]
    assert 40 <= len(own) <= 80 and all(row["amount"] is not None for row in own)
    assert all(row["amount"] is None for row in rows if row not in own)
    requests = await _walk(sim, ep.SPEND_LIMIT_INCREASE_REQUESTS.path, admin, "page")
    past = {
        row["actor"]["user_id"]
        for row in own
        if float(row["period_to_date_spend"]) >= int(row["amount"])
    }
    assert past and {row["actor"]["user_id"] for row in requests} == past
    truth = await sim.truth(usage="false")
    near = {u["id"] for u in truth["users"] if "SPEND_LIMIT_NEAR" in u["risks"]}
    assert past <= near <= {row["actor"]["user_id"] for row in own}
