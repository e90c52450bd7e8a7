"""Each endpoint's rows match the documented example field for field (names, nesting, types)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from streams.client import endpoints as ep
from streams.simulator import RunningSimulator
from tests.contract.simulator import documented as doc
from tests.contract.simulator import org_kind_for
from tests.fixtures.simulator import SimFactory

DAY = "2026-11-19"
RANGE = {"starting_at": "2026-11-12T00:00:00Z", "ending_at": "2026-11-20T00:00:00Z"}
CENTS = re.compile(r"^\d+\.\d{6}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def assert_shape(actual: Any, expected: Any, extras: dict[str, set[str]], path: str = "$") -> None:
    """``actual`` has exactly ``expected``'s keys (plus ``extras``) and the same JSON types."""
    if expected is None or actual is None:
        assert expected is None, f"{path}: documented as non-null"
        return
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object"
        if path.endswith(".tags"):
            return
        missing = expected.keys() - actual.keys()
        unexpected = actual.keys() - expected.keys() - extras.get(path, set())
        assert not missing and not unexpected, f"{path}: missing {missing}, unexpected {unexpected}"
        for key, value in actual.items():
            if key in expected:
                assert_shape(value, expected[key], extras, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected an array"
        for item in actual:
            if expected:
                assert_shape(item, expected[0], extras, f"{path}[]")
    elif isinstance(expected, bool):
        assert isinstance(actual, bool), f"{path}: expected a boolean"
    elif isinstance(expected, int | float):
        assert isinstance(actual, int | float) and not isinstance(actual, bool), path
    else:
        assert isinstance(actual, str), f"{path}: expected a string, got {actual!r}"


async def _get(sim: RunningSimulator, path: str, key: str, **params: Any) -> dict[str, Any]:
    response = await sim.http.get(
        path, params=params, headers={"x-api-key": key, "anthropic-version": "2023-06-01"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["request-id"].startswith("req_")
    return response.json()


CASES: dict[str, tuple[str, dict[str, Any], str, Any, dict[str, Any], dict[str, set[str]]]] = {
    # name: (path, params, key family, example row, envelope beyond "data", extra fields)
    "analytics users": (
        ep.ANALYTICS_USERS.path,
        {"date": DAY},
        "analytics",
        doc.ANALYTICS_USER,
        {"next_page": None},
        doc.USER_ADDITIONS,
    ),
    "summaries": (
        ep.SUMMARIES.path,
        {"starting_date": "2026-11-01"},
        "analytics",
        doc.SUMMARY,
        {"next_page": None},
        {},
    ),
    "chat projects": (
        ep.CHAT_PROJECTS.path,
        {"date": DAY},
        "analytics",
        doc.PROJECT,
        {"next_page": None},
        {},
    ),
    "skills": (ep.SKILLS.path, {"date": DAY}, "analytics", doc.SKILL, {"next_page": None}, {}),
    "connectors": (
        ep.CONNECTORS.path,
        {"date": DAY, "group_by[]": "user_id"},
        "analytics",
        doc.CONNECTOR,
        {"next_page": None},
        {},
    ),
    "usage report": (
        ep.USAGE_REPORT.path,
        RANGE,
        "analytics",
        doc.USAGE_BUCKET,
        doc._REPORT_ENVELOPE,
        {},
    ),
    "cost report": (
        ep.COST_REPORT.path,
        RANGE,
        "analytics",
        doc.COST_BUCKET,
        doc._REPORT_ENVELOPE,
        {},
    ),
    "user usage report": (
        ep.USER_USAGE.path,
        RANGE | {"bucket_width": "1d"},
        "analytics",
        doc.USER_USAGE,
        doc._REPORT_ENVELOPE,
        {},
    ),
    "user cost report": (
        ep.USER_COST.path,
        RANGE,
        "analytics",
        doc.USER_COST,
        doc._REPORT_ENVELOPE,
        {},
    ),
    "members": (ep.MEMBERS.path, {}, "admin", doc.MEMBER, doc._ID_ENVELOPE, {}),
    "invites": (ep.INVITES.path, {}, "admin", doc.INVITE, doc._ID_ENVELOPE, {}),
    "workspaces": (ep.WORKSPACES.path, {}, "admin", doc.WORKSPACE, doc._ID_ENVELOPE, {}),
    "api keys": (
        ep.API_KEYS.path,
        {},
        "admin",
        doc.API_KEY,
        doc._ID_ENVELOPE,
        doc.API_KEY_ADDITIONS,
    ),
    "claude code usage": (
        ep.CLAUDE_CODE_USAGE.path,
        {"starting_at": DAY},
        "admin",
        doc.CLAUDE_CODE,
        {"has_more": False, "next_page": None},
        {},
    ),
    "console cost report": (
        ep.CONSOLE_COST_REPORT.path,
        RANGE | {"group_by[]": "workspace_id"},
        "admin",
        doc.CONSOLE_COST_BUCKET,
        doc._REPORT_ENVELOPE,
        {},
    ),
}


def _key(sim: RunningSimulator, family: str) -> str:
    return sim.config.analytics_key if family == "analytics" else sim.config.admin_key


@pytest.mark.parametrize("case", CASES)
async def test_rows_match_the_documented_example(sim_factory: SimFactory, case: str) -> None:
    path, params, family, example, envelope, extras = CASES[case]
    sim = await sim_factory(users=150, seed=9, org_kind=org_kind_for(path))
    body = await _get(sim, path, _key(sim, family), **params)
    assert_shape(body, {"data": [example], **envelope}, extras)
    assert body["data"], f"{case}: the simulator should return rows"
    if "actor" in example:
        actor = body["data"][0]["actor"]
        assert "email_address" in actor and "email" not in actor


@pytest.mark.parametrize("case", ["members", "workspaces", "invites"])
async def test_admin_values_are_well_formed(sim_factory: SimFactory, case: str) -> None:
    path, params, family, *_ = CASES[case]
    sim = await sim_factory(users=150, seed=9, org_kind=org_kind_for(path))
    body = await _get(sim, path, _key(sim, family), **params)
    prefix = {"members": "user_01", "workspaces": "wrkspc_01", "invites": "invite_01"}[case]
    for row in body["data"]:
        assert row["id"].startswith(prefix) and len(row["id"]) == len(prefix) + 24
        stamp = row.get("added_at") or row.get("created_at") or row.get("invited_at")
        assert TIMESTAMP.match(stamp)


async def test_money_is_cent_strings(sim_factory: SimFactory) -> None:
    sim = await sim_factory(users=150, seed=9)
    key = sim.config.analytics_key
    costs = await _get(sim, ep.USER_COST.path, key, **RANGE)
    buckets = await _get(sim, ep.COST_REPORT.path, key, **RANGE)
    amounts = [row["amount"] for row in costs["data"]] + [
        result[name]
        for bucket in buckets["data"]
        for result in bucket["results"]
        for name in ("amount", "list_amount")
    ]
    assert amounts and all(CENTS.match(amount) for amount in amounts)


async def test_me_is_the_organization(sim_factory: SimFactory) -> None:
    sim = await sim_factory(users=10)
    body = await _get(sim, ep.ORGANIZATION.path, sim.config.admin_key)
    assert_shape(body, doc.ORGANIZATION, {})
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", body["id"]
    )


async def test_legacy_dialect_serves_the_older_spellings(sim_factory: SimFactory) -> None:
    sim = await sim_factory(users=150, seed=9, dialect="legacy")
    key = sim.config.analytics_key
    summaries = await _get(sim, ep.SUMMARIES.path, key, starting_date="2026-11-01")
    assert set(summaries) == {"summaries"}
    assert {"starting_date", "ending_date"} <= summaries["summaries"][0].keys()
    costs = await _get(sim, ep.USER_COST.path, key, **RANGE)
    assert "email" in costs["data"][0]["actor"]
    users = await _get(sim, ep.ANALYTICS_USERS.path, key, date=DAY)
    assert "bioscience_metrics" in users["data"][0]
