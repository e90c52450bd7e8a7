"""Documented JSON shapes: turn org records into the objects the real API returns.

Field names and nesting follow ``anthropic-api.md`` and the official SDK's models. The
``legacy`` dialect reproduces the older documented spellings (summaries under
``summaries`` with ``starting_date``, actors with ``email``, ``bioscience_metrics``) so the
client can be tested against both sides of each documented conflict.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from streams.simulator.activity import OFFICE_APPS, TokenTuple
from streams.simulator.org import Dialect, Org, Person, rfc3339

_NULL_DIMENSIONS = ("rbac_group_id", "rbac_group_name", "distinct_user_count")


def member(person: Person) -> dict[str, Any]:
    return {
        "type": "user",
        "id": person.id,
        "email": person.email,
        "name": person.name,
        "role": person.role,
        "added_at": person.added_text,
    }


def invite(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "invite",
        "id": record["id"],
        "email": record["email"],
        "role": record["role"],
        "invited_at": rfc3339(record["invited_at"]),
        "expires_at": rfc3339(record["expires_at"]),
        "accepted_at": rfc3339(record["accepted_at"]) if record["accepted_at"] else None,
        "status": record["status"],
        "rbac_group_ids": [],
    }


def workspace(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "workspace",
        "id": record["id"],
        "name": record["name"],
        "display_color": record["display_color"],
        "created_at": rfc3339(record["created_at"]),
        "archived_at": None,
        "tags": {},
        "compartment_id": record["compartment_id"],
        "external_key_id": None,
        "data_residency": {
            "workspace_geo": "us",
            "default_inference_geo": "global",
            "allowed_inference_geos": "unrestricted",
        },
    }


def workspace_member(workspace_id: str, user_id: str, role: str) -> dict[str, Any]:
    return {
        "type": "workspace_member",
        "user_id": user_id,
        "workspace_id": workspace_id,
        "workspace_role": role,
    }


def api_key(record: dict[str, Any], dialect: Dialect) -> dict[str, Any]:
    """An API key's metadata; the SDK's ``principal`` is a ``user_actor`` and ``scope`` names
    the workspace (legacy: ``principal`` a ``user`` and a top-level ``workspace_id``)."""
    creator = {"id": record["user_id"], "type": "user"}
    principal = (
        {"type": "user_actor", "user_id": record["user_id"]} if dialect == "current" else creator
    )
    workspace_id = record["workspace_id"]
    shape = {
        "type": "api_key",
        "id": record["id"],
        "name": record["name"],
        "status": record["status"],
        "created_at": rfc3339(record["created_at"]),
        "expires_at": None,
        "partial_key_hint": record["partial_key_hint"],
        "scope": {"type": "workspace", "workspace_id": workspace_id}
        if workspace_id
        else {"type": "organization"},
        "created_by": creator,
        "principal": principal,
    }
    if dialect == "legacy":  # before ``scope`` replaced it
        shape["workspace_id"] = workspace_id
    return shape


def rbac_group(group: dict[str, Any]) -> dict[str, Any]:
    """One ``RBACGroup`` (roles are attached in the product, read-only here: none)."""
    created = rfc3339(group["created_at"])
    return {
        "type": "rbac_group",
        "id": group["id"],
        "name": group["name"],
        "source_type": group["source_type"],
        "role_ids": [],
        "created_at": created,
        "updated_at": created,
    }


def rbac_group_member(group_id: str, person: Person) -> dict[str, Any]:
    return {
        "type": "rbac_group_member",
        "rbac_group_id": group_id,
        "user_id": person.id,
        "email": person.email,
        "created_at": person.added_text,
    }


def _tool(accepted: int, rejected: int) -> dict[str, int]:
    return {"accepted_count": accepted, "rejected_count": rejected}


def analytics_user(
    person: Person,
    c: dict[str, int],
    last_active: date | None,
    dialect: Dialect,
    *,
    unified: bool = False,
) -> dict[str, Any]:
    """One ``/analytics/users`` row; ``c`` holds the (possibly summed) engagement counts.

    A member on unified Chat and Cowork has that activity under ``chat_cowork_unified_metrics``
    (``chat_metrics`` and ``cowork_metrics`` then report zeros); ``claude_tag_metrics`` is
    present only for members with Claude Tag activity. Both blocks are omitted otherwise.
    """
    user = {"id": person.id, "email_address": person.email, "type": "user"}
    if not c:
        return {**_idle_row(dialect), "user": user}
    row = {**_metrics_row(c, last_active, dialect), "user": user}
    if unified:
        idle = _idle_row(dialect)
        row["chat_cowork_unified_metrics"] = {
            "chat": row["chat_metrics"],
            "sessions": row["cowork_metrics"],
        }
        row["chat_metrics"], row["cowork_metrics"] = idle["chat_metrics"], idle["cowork_metrics"]
    if "tag_messages" in c:
        row["claude_tag_metrics"] = {
            "active_day_count": 1 if c["tag_messages"] else 0,
            "active_message_count": c["tag_messages"],
        }
    return row


@functools.cache
def _idle_row(dialect: Dialect) -> dict[str, Any]:
    """The row of a member with no activity (shared, never mutated: it is only serialised)."""
    return _metrics_row({}, None, dialect)


def _metrics_row(c: dict[str, int], last_active: date | None, dialect: Dialect) -> dict[str, Any]:
    g = c.get
    office = {
        app: {
            "connectors_used_count": 0,
            "distinct_connectors_used_count": 0,
            "distinct_session_count": g(f"office_{app}_sessions", 0),
            "distinct_skills_used_count": g(f"office_{app}_distinct_skills", 0),
            "message_count": g(f"office_{app}_messages", 0),
            "skills_used_count": g(f"office_{app}_skills", 0),
        }
        for app in OFFICE_APPS
    }
    row: dict[str, Any] = {
        "user": None,
        "chat_metrics": {
            "connectors_used_count": g("chat_connectors", 0),
            "distinct_artifacts_created_count": g("chat_artifacts", 0),
            "distinct_connectors_used_count": g("chat_distinct_connectors", 0),
            "distinct_conversation_count": g("chat_conversations", 0),
            "distinct_files_uploaded_count": g("chat_files", 0),
            "distinct_projects_created_count": g("chat_projects_created", 0),
            "distinct_projects_used_count": g("chat_projects_used", 0),
            "distinct_shared_artifacts_viewed_count": g("chat_shared_artifacts", 0),
            "distinct_skills_used_count": g("chat_skills", 0),
            "message_count": g("chat_messages", 0),
            "shared_conversations_viewed_count": g("chat_shared_conversations", 0),
            "thinking_message_count": g("chat_thinking", 0),
        },
        "claude_code_metrics": {
            "core_metrics": {
                "artifacts_created_count": g("code_artifacts", 0),
                "commit_count": g("code_commits", 0),
                "distinct_session_count": g("code_sessions", 0),
                "lines_of_code": {
                    "added_count": g("code_added", 0),
                    "removed_count": g("code_removed", 0),
                },
                "pull_request_count": g("code_prs", 0),
            },
            "tool_actions": {
                "edit_tool": _tool(g("code_edit_ok", 0), g("code_edit_no", 0)),
                "multi_edit_tool": _tool(g("code_multi_ok", 0), g("code_multi_no", 0)),
                "notebook_edit_tool": _tool(g("code_notebook_ok", 0), 0),
                "write_tool": _tool(g("code_write_ok", 0), g("code_write_no", 0)),
            },
        },
        "cowork_metrics": {
            "action_count": g("cowork_actions", 0),
            "artifacts_created_count": g("cowork_artifacts", 0),
            "connectors_used_count": g("cowork_connectors", 0),
            "dispatch_turn_count": g("cowork_dispatch", 0),
            "distinct_connectors_used_count": min(1, g("cowork_connectors", 0)),
            "distinct_session_count": g("cowork_sessions", 0),
            "distinct_skills_used_count": g("cowork_distinct_skills", 0),
            "message_count": g("cowork_messages", 0),
            "skills_used_count": g("cowork_skills", 0),
            "distinct_plugins_used_count": None,
            "edit_tool_count": None,
            "file_edit_count": None,
            "multi_edit_tool_count": None,
            "notebook_edit_tool_count": None,
            "plugins_used_count": None,
            "sessions_with_file_edits_count": None,
            "write_tool_count": None,
        },
        "design_metrics": {
            "distinct_projects_created_count": g("design_created", 0),
            "distinct_projects_used_count": min(1, g("design_sessions", 0)),
            "distinct_session_count": g("design_sessions", 0),
            "message_count": g("design_messages", 0),
        },
        "office_metrics": office,
        "science_metrics" if dialect == "current" else "bioscience_metrics": {
            "delegation_count": g("science_delegations", 0),
            "distinct_session_count": g("science_sessions", 0),
            "message_count": g("science_messages", 0),
            "remote_compute_job_count": g("science_jobs", 0),
            "skills_used_count": g("science_skills", 0),
        },
        "web_search_count": g("web_searches", 0),
        "last_activity_date": last_active.isoformat() if last_active else None,
    }
    row.update(dict.fromkeys(_NULL_DIMENSIONS))
    return row


def summary_day(day: date, figures: dict[str, Any], dialect: Dialect) -> dict[str, Any]:
    """One ``/analytics/summaries`` entry covering ``[day, day + 1)``."""
    following = date.fromordinal(day.toordinal() + 1)
    if dialect == "current":
        dates = {
            "starting_at": f"{day.isoformat()}T00:00:00Z",
            "ending_at": f"{following.isoformat()}T00:00:00Z",
        }
    else:
        dates = {"starting_date": day.isoformat(), "ending_date": following.isoformat()}
    return {**dates, **figures}


def report_actor(person: Person, dialect: Dialect) -> dict[str, Any]:
    """The ``user_actor`` of per-user usage and cost rows; removed members are ``deleted``."""
    deleted = person.removed_at is not None
    email = None if person.account_deleted else person.email
    return {
        "type": "user_actor",
        "user_id": person.id,
        "email_address" if dialect == "current" else "email": email,
        "name": "Deleted User" if person.account_deleted else person.name,
        "deleted": deleted,
    }


REPORT_DIMENSIONS = (
    "product",
    "model",
    "context_window",
    "inference_geo",
    "speed",
    "rbac_group_id",
    "slack_channel_id",
)


USAGE_COST_DIMENSIONS = (
    "actor",
    "actor_type",
    "agent_id",
    "api_key_id",
    "claude_tag_category",
    "claude_tag_user_id",
    "context_window",
    "deployment_id",
    "environment_id",
    "inference_geo",
    "model",
    "organization_id",
    "product",
    "rbac_group_id",
    "service_tier",
    "session_id",
    "slack_channel_id",
    "speed",
    "user_profile_id",
    "workspace_id",
)
"""The ``group`` keys of a Usage & Cost Analytics row (null unless grouped by)."""


def usage_metrics(tokens: Sequence[int]) -> dict[str, Any]:
    """The ``usage`` block of an ``/analytics/usage`` row."""
    return {**token_fields(tuple(tokens)), "total_tokens": sum(tokens[:5])}  # type: ignore[arg-type]


def cost_metrics(amount: Decimal, listed: Decimal, requests: int | None) -> dict[str, Any]:
    """The ``cost`` block of an ``/analytics/cost`` row (cents as strings): the cost report's
    fields without its ``cost_type``/``token_type`` grouping."""
    fields = cost_fields(amount, listed, requests)
    del fields["cost_type"], fields["token_type"]
    return fields


def token_fields(tokens: TokenTuple) -> dict[str, Any]:
    uncached, cache_read, cache_5m, cache_1h, output, searches, requests = tokens
    return {
        "uncached_input_tokens": uncached,
        "cache_read_input_tokens": cache_read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache_5m,
            "ephemeral_1h_input_tokens": cache_1h,
        },
        "output_tokens": output,
        "server_tool_use": {"web_search_requests": searches},
        "requests": requests,
    }


def cost_fields(amount: Decimal, listed: Decimal, requests: int | None) -> dict[str, Any]:
    return {
        "currency": "USD",
        "amount": f"{amount:.6f}",
        "list_amount": f"{listed:.6f}",
        "cost_type": None,
        "token_type": None,
        "requests": requests,
    }


def spend_summary(
    person: Person, limit: Decimal | None, spent: Decimal, org_id: str
) -> dict[str, Any]:
    """One member's monthly effective-limit row: their own limit, or none (the org's)."""
    scope = (
        {"type": "user", "user_id": person.id} if limit is not None else {"type": "organization"}
    )
    return {
        "actor": {
            "type": "user_actor",
            "user_id": person.id,
            "email_address": person.email,
            "name": person.name,
            "deleted": False,
        },
        "amount": None if limit is None else str(limit),
        "currency": "USD",
        "period": "monthly",
        "period_to_date_spend": f"{spent:.3f}".rstrip("0").rstrip("."),
        "scope": scope,
        "source": scope,
        "spend_limit_id": f"spl_{person.id[5:]}" if limit is not None else f"spl_{org_id[4:]}",
    }


def spend_limit_increase_request(
    person: Person, summary: dict[str, Any], created_at: str
) -> dict[str, Any]:
    """The pending request of a member past their limit."""
    return {
        "type": "spend_limit_increase_request",
        "id": f"slir_{person.id[5:]}",
        "actor": summary["actor"],
        "created_at": created_at,
        "period": "monthly",
        "status": "pending",
        "resolved_at": None,
        "resolved_by": None,
        "spend_summary": summary,
    }


def organization(org: Org) -> dict[str, Any]:
    return {"id": org.id, "name": org.name, "type": "organization"}


def error_body(kind: str, message: str, request_id: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}
