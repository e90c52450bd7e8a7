"""The simulator judged by the official SDK: every row of every endpoint the SDK models
validates strictly against the SDK's own model, with no field the SDK does not know."""

from __future__ import annotations

from typing import Any

import orjson
import pydantic
import pytest
from anthropic.types.beta.organization import (
    BetaAnalyticsCostReportTimeBucket,
    BetaAnalyticsCostUsersItem,
    BetaAnalyticsUsageReportTimeBucket,
    BetaAnalyticsUsageUsersItem,
)
from anthropic.types.beta.organization.analytics import (
    BetaAnalyticsCostItem,
    BetaAnalyticsUsageItem,
)
from anthropic.types.organization import (
    AnalyticsConnectorActivity,
    AnalyticsProjectActivity,
    AnalyticsSingleDayActivitySummary,
    AnalyticsSkillActivity,
    AnalyticsUserActivity,
    APIKey,
    OrganizationInvite,
    OrganizationUser,
    RBACGroup,
    SpendSummary,
    Workspace,
    WorkspaceMember,
)
from anthropic.types.organization.rbac_groups import RBACGroupMember
from anthropic.types.organization.spend_limits import SpendLimitIncreaseRequest
from anthropic.types.organization_info import OrganizationInfo

from streams.client import endpoints as ep
from streams.simulator import RunningSimulator
from tests.contract.simulator import org_kind_for
from tests.fixtures.simulator import SimFactory

DAY = "2026-11-19"
RANGE = {"starting_at": "2026-11-12T00:00:00Z", "ending_at": "2026-11-20T00:00:00Z"}
BY_ACTOR = RANGE | {"time_bucket_width": "1d", "group_by[]": ["actor", "product", "model"]}

SDK_MODELS: dict[str, tuple[type[pydantic.BaseModel], dict[str, Any]]] = {
    # client endpoint name: (the SDK's model of one row, query)
    ep.ORGANIZATION.name: (OrganizationInfo, {}),
    ep.MEMBERS.name: (OrganizationUser, {}),
    ep.INVITES.name: (OrganizationInvite, {}),
    ep.WORKSPACES.name: (Workspace, {}),
    ep.API_KEYS.name: (APIKey, {}),
    ep.RBAC_GROUPS.name: (RBACGroup, {}),
    ep.ANALYTICS_USERS.name: (AnalyticsUserActivity, {"date": DAY}),
    ep.SUMMARIES.name: (AnalyticsSingleDayActivitySummary, {"starting_date": "2026-11-01"}),
    ep.CONNECTORS.name: (AnalyticsConnectorActivity, {"date": DAY, "group_by[]": "user_id"}),
    ep.SKILLS.name: (AnalyticsSkillActivity, {"date": DAY}),
    ep.CHAT_PROJECTS.name: (AnalyticsProjectActivity, {"date": DAY}),
    ep.USER_USAGE.name: (BetaAnalyticsUsageUsersItem, RANGE | {"bucket_width": "1d"}),
    ep.USER_COST.name: (BetaAnalyticsCostUsersItem, RANGE),
    ep.USAGE_REPORT.name: (BetaAnalyticsUsageReportTimeBucket, RANGE),
    ep.COST_REPORT.name: (BetaAnalyticsCostReportTimeBucket, RANGE),
    ep.ACTOR_USAGE.name: (BetaAnalyticsUsageItem, BY_ACTOR),
    ep.ACTOR_COST.name: (BetaAnalyticsCostItem, BY_ACTOR),
    ep.EFFECTIVE_SPEND_LIMITS.name: (SpendSummary, {}),
    ep.SPEND_LIMIT_INCREASE_REQUESTS.name: (SpendLimitIncreaseRequest, {}),
}
NOT_IN_SDK = {
    ep.MEMBER.name: "one member: the same OrganizationUser, covered by members",
    ep.WORKSPACE_MEMBERS.name: "checked below with a workspace id",
    ep.RBAC_GROUP_MEMBERS.name: "checked below with a group id",
    ep.CLAUDE_CODE_USAGE.name: "no SDK resource for /usage_report/claude_code",
    ep.CONSOLE_COST_REPORT.name: "no SDK resource for the Console /cost_report",
    ep.ACTIVITIES.name: "no SDK resource for /v1/compliance/activities (only compliance review)",
}


def unknown_fields(model: pydantic.BaseModel, path: str = "$") -> list[str]:
    """Fields the SDK model accepted only as extras (anywhere in the tree)."""
    found = [f"{path}.{name}" for name in (model.model_extra or {})]
    for name in type(model).model_fields:
        found += _unknown_in(getattr(model, name), f"{path}.{name}")
    return found


def _unknown_in(value: Any, path: str) -> list[str]:
    if isinstance(value, pydantic.BaseModel):
        return unknown_fields(value, path)
    if isinstance(value, list):
        return [name for item in value for name in _unknown_in(item, f"{path}[]")]
    if isinstance(value, dict):
        return [name for key, item in value.items() for name in _unknown_in(item, f"{path}.{key}")]
    return []


def validate(model: type[pydantic.BaseModel], row: Any) -> pydantic.BaseModel:
    parsed = model.model_validate_json(orjson.dumps(row), strict=True)
    assert not unknown_fields(parsed), unknown_fields(parsed)
    return parsed


async def _rows(sim: RunningSimulator, spec: ep.EndpointSpec[Any], query: dict) -> list[Any]:
    key = sim.config.analytics_key if spec.family.value == "analytics" else sim.config.admin_key
    headers = sdk_headers(key) | ({"anthropic-beta": spec.beta} if spec.beta else {})
    response = await sim.http.get(spec.path, params=query, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    rows = [body] if spec.whole_body_is_row else body["data"]
    assert rows, f"{spec.name}: the simulator should answer rows"
    return rows


def sdk_headers(key: str) -> dict[str, str]:
    """What SDK 2.17.0 sends: the key as a bearer token and its own API version."""
    return {"authorization": f"Bearer {key}", "anthropic-version": "2026-10-21"}


def test_every_client_endpoint_is_judged_by_the_sdk_or_says_why_not() -> None:
    assert set(SDK_MODELS) | set(NOT_IN_SDK) == set(ep.ENDPOINTS)
    assert not set(SDK_MODELS) & set(NOT_IN_SDK)


@pytest.mark.parametrize("name", sorted(SDK_MODELS))
async def test_the_simulator_answers_what_the_sdk_models(
    sim_factory: SimFactory, name: str
) -> None:
    model, query = SDK_MODELS[name]
    kind = org_kind_for(ep.ENDPOINTS[name].path)
    sim = await sim_factory(users=150, seed=9, org_kind=kind, groups=4, spend_limit_share=0.5)
    for row in await _rows(sim, ep.ENDPOINTS[name], query):
        validate(model, row)


async def test_optional_engagement_blocks_validate_present_and_absent(
    sim_factory: SimFactory,
) -> None:
    sim = await sim_factory(users=150, seed=9, unified_chat_share=0.5, claude_tag_share=0.5)
    rows = await _rows(sim, ep.ANALYTICS_USERS, {"date": DAY})
    parsed = [validate(AnalyticsUserActivity, row) for row in rows]
    for block in ("chat_cowork_unified_metrics", "claude_tag_metrics"):
        present = [getattr(row, block) is not None for row in parsed]
        assert any(present) and not all(present), block
    unified = next(row for row in rows if "chat_cowork_unified_metrics" in row)
    assert unified["chat_metrics"]["message_count"] == 0


async def test_workspace_members_are_what_the_sdk_models(sim_factory: SimFactory) -> None:
    sim = await sim_factory(users=150, seed=9, org_kind="console")
    (workspace, *_) = await _rows(sim, ep.WORKSPACES, {})
    response = await sim.http.get(
        ep.WORKSPACE_MEMBERS.url_path({"workspace_id": workspace["id"]}),
        headers=sdk_headers(sim.config.admin_key),
    )
    assert response.status_code == 200, response.text
    for row in response.json()["data"]:
        validate(WorkspaceMember, row)


async def test_group_members_are_what_the_sdk_models(sim_factory: SimFactory) -> None:
    sim = await sim_factory(users=150, seed=9, groups=3)
    groups = await _rows(sim, ep.RBAC_GROUPS, {})
    members = []
    for group in groups:
        path = ep.RBAC_GROUP_MEMBERS.url_path({"rbac_group_id": group["id"]})
        response = await sim.http.get(path, headers=sdk_headers(sim.config.admin_key))
        assert response.status_code == 200, response.text
        members += [validate(RBACGroupMember, row) for row in response.json()["data"]]
    assert members and {m.rbac_group_id for m in members} == {g["id"] for g in groups}
