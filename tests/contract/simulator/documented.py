"""The documented example objects (``anthropic-api.md``), one per endpoint, as shape references.

Values are placeholders; keys, nesting and JSON types are what the contract tests compare.
``None`` means "documented as nullable": any value or null is accepted there.
"""

from __future__ import annotations

from typing import Any

_OFFICE_PRODUCT = {
    "connectors_used_count": 0,
    "distinct_connectors_used_count": 0,
    "distinct_session_count": 1,
    "distinct_skills_used_count": 0,
    "message_count": 3,
    "skills_used_count": 0,
}
_DIMENSIONS = {
    "product": None,
    "model": None,
    "context_window": None,
    "inference_geo": None,
    "speed": None,
    "rbac_group_id": None,
    "slack_channel_id": None,
}
_TOKENS = {
    "uncached_input_tokens": 1,
    "cache_read_input_tokens": 1,
    "cache_creation": {"ephemeral_5m_input_tokens": 1, "ephemeral_1h_input_tokens": 0},
    "output_tokens": 1,
    "server_tool_use": {"web_search_requests": 1},
    "requests": 1,
}
# The reference pages spell it ``email``; the newer SDK ``email_address`` (legacy vs current).
_ACTOR = {
    "type": "user_actor",
    "user_id": "user_x",
    "email_address": None,
    "name": None,
    "deleted": False,
}
_COST = {
    "currency": "USD",
    "amount": "1.000000",
    "list_amount": "1.000000",
    "cost_type": None,
    "token_type": None,
    "requests": None,
}
_ID_ENVELOPE = {"has_more": False, "first_id": None, "last_id": None}
_REPORT_ENVELOPE = {
    "has_more": False,
    "next_page": None,
    "data_refreshed_at": None,
    "organization_id": "org",
}

ANALYTICS_USER = {
    "user": {"id": "user_x", "email_address": "a@b", "type": "user"},
    "chat_metrics": {
        "connectors_used_count": 4,
        "distinct_artifacts_created_count": 1,
        "distinct_connectors_used_count": 2,
        "distinct_conversation_count": 6,
        "distinct_files_uploaded_count": 3,
        "distinct_projects_created_count": 0,
        "distinct_projects_used_count": 1,
        "distinct_shared_artifacts_viewed_count": 0,
        "distinct_skills_used_count": 1,
        "message_count": 41,
        "shared_conversations_viewed_count": 0,
        "thinking_message_count": 5,
    },
    "claude_code_metrics": {
        "core_metrics": {
            "commit_count": 3,
            "distinct_session_count": 4,
            "lines_of_code": {"added_count": 512, "removed_count": 88},
            "pull_request_count": 1,
        },
        "tool_actions": {
            name: {"accepted_count": 1, "rejected_count": 0}
            for name in ("edit_tool", "multi_edit_tool", "notebook_edit_tool", "write_tool")
        },
    },
    "cowork_metrics": {
        "action_count": 12,
        "connectors_used_count": 2,
        "dispatch_turn_count": 0,
        "distinct_connectors_used_count": 1,
        "distinct_session_count": 2,
        "distinct_skills_used_count": 1,
        "message_count": 9,
        "skills_used_count": 3,
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
        "distinct_projects_created_count": 0,
        "distinct_projects_used_count": 0,
        "distinct_session_count": 0,
        "message_count": 0,
    },
    "office_metrics": {app: _OFFICE_PRODUCT for app in ("excel", "outlook", "powerpoint", "word")},
    "science_metrics": {
        "delegation_count": 0,
        "distinct_session_count": 0,
        "message_count": 0,
        "remote_compute_job_count": 0,
        "skills_used_count": 0,
    },
    "web_search_count": 7,
    "last_activity_date": None,
    "distinct_user_count": None,
    "rbac_group_id": None,
    "rbac_group_name": None,
}

SUMMARY = {
    "starting_at": "2026-11-20T00:00:00Z",
    "ending_at": "2026-11-21T00:00:00Z",
    "daily_active_user_count": 1,
    "weekly_active_user_count": 1,
    "monthly_active_user_count": 1,
    "assigned_seat_count": 1,
    "pending_invite_count": 1,
    "daily_adoption_rate": 1.5,
    "weekly_adoption_rate": 1.5,
    "monthly_adoption_rate": 1.5,
    "cowork_daily_active_user_count": 1,
    "cowork_weekly_active_user_count": 1,
    "cowork_monthly_active_user_count": 1,
    "chat_daily_active_user_count": 1,
    "claude_code_daily_active_user_count": 1,
    "claude_design_daily_active_user_count": 1,
    "office_agent_daily_active_user_count": 1,
    "science_daily_active_user_count": 1,
    "science_entitled_user_count": 1,
}

_GROUPED = {"product": None, "rbac_group_id": None, "rbac_group_name": None, "user_id": None}
_OFFICE_APPS = ("excel", "outlook", "powerpoint", "word")

PROJECT = {
    "project_id": "claude_proj_x",
    "project_name": "Q4",
    "distinct_user_count": 6,
    "distinct_conversation_count": None,
    "message_count": 143,
    "created_at": None,
    "created_by": None,
    **{name: value for name, value in _GROUPED.items() if name != "product"},
}
SKILL = {
    "skill_name": "xlsx",
    "skill_display_name": None,
    "distinct_user_count": 18,
    "invocation_count": None,
    "enable_count": None,
    "share_status": "organization",
    "chat_metrics": {"distinct_conversation_skill_used_count": 21},
    "claude_code_metrics": {"distinct_session_skill_used_count": 4},
    "cowork_metrics": {"distinct_session_skill_used_count": 6},
    "office_metrics": {app: {"distinct_session_skill_used_count": 0} for app in _OFFICE_APPS},
    "estimated_overage_spend": None,
    "attributed_list_price": None,
    "currency": "USD",
    **_GROUPED,
}
CONNECTOR = {
    "connector_name": "github",
    "connector_display_name": None,
    "distinct_user_count": 23,
    "chat_metrics": {"distinct_conversation_connector_used_count": 31},
    "claude_code_metrics": {"distinct_session_connector_used_count": 12},
    "cowork_metrics": {"distinct_session_connector_used_count": 3},
    "office_metrics": {app: {"distinct_session_connector_used_count": 0} for app in _OFFICE_APPS},
    "managed_auth_distinct_user_count": None,
    "individual_auth_distinct_user_count": None,
    "read_call_count": None,
    "write_call_count": None,
    "unclassified_call_count": None,
    **_GROUPED,
}

USAGE_BUCKET = {"starting_at": "t", "ending_at": "t", "results": [{**_DIMENSIONS, **_TOKENS}]}
COST_BUCKET = {"starting_at": "t", "ending_at": "t", "results": [{**_DIMENSIONS, **_COST}]}
USER_USAGE = {
    "actor": _ACTOR,
    **_DIMENSIONS,
    "starting_at": None,
    "ending_at": None,
    **_TOKENS,
    "total_tokens": 1,
}
USER_COST = {"actor": _ACTOR, **_DIMENSIONS, "starting_at": None, "ending_at": None, **_COST}

MEMBER = {
    "type": "user",
    "id": "user_x",
    "email": "a@b",
    "name": "A",
    "role": "user",
    "added_at": "t",
}
INVITE = {
    "type": "invite",
    "id": "invite_x",
    "email": "a@b",
    "role": "user",
    "invited_at": "t",
    "expires_at": "t",
    "accepted_at": None,
    "status": "pending",
    "rbac_group_ids": [],
}
WORKSPACE = {
    "type": "workspace",
    "id": "wrkspc_x",
    "name": "Prod",
    "display_color": "#6C5BB9",
    "created_at": "t",
    "archived_at": None,
    "tags": {},
    "compartment_id": "uuid",
    "external_key_id": None,
    "data_residency": {
        "workspace_geo": "us",
        "default_inference_geo": "global",
        "allowed_inference_geos": "unrestricted",
    },
}
WORKSPACE_MEMBER = {
    "type": "workspace_member",
    "user_id": "user_x",
    "workspace_id": "wrkspc_x",
    "workspace_role": "workspace_developer",
}
API_KEY = {
    "type": "api_key",
    "id": "apikey_x",
    "name": "laptop",
    "status": "active",
    "created_at": "t",
    "expires_at": None,
    "partial_key_hint": "sk-ant-api03-R2D...igAA",
    "scope": None,  # {"type": "workspace", "workspace_id"} or {"type": "organization"}
    "created_by": {"id": "user_x", "type": "user"},
    # the reference example shows {"id", "type": "user"}; the SDK's newer model a user_actor
    "principal": {"type": "user_actor", "user_id": "user_x"},
}
CLAUDE_CODE = {
    "date": "t",
    "actor": {"type": "user_actor", "email_address": "a@b"},
    "organization_id": "org",
    "customer_type": "subscription",
    "subscription_type": None,
    "terminal_type": "vscode",
    "is_remote": False,
    "core_metrics": {
        "num_sessions": 5,
        "lines_of_code": {"added": 342, "removed": 128},
        "commits_by_claude_code": 3,
        "pull_requests_by_claude_code": 1,
    },
    "tool_actions": {
        "edit_tool": {"accepted": 25, "rejected": 3},
        "write_tool": {"accepted": 8, "rejected": 0},
    },
    "model_breakdown": [
        {
            "model": "m",
            "tokens": {"input": 1, "output": 1, "cache_read": 1, "cache_creation": 1},
            "estimated_cost": {"amount": 186, "currency": "USD"},
        }
    ],
}
CONSOLE_COST_BUCKET = {
    "starting_at": "t",
    "ending_at": "t",
    "results": [
        {
            "currency": "USD",
            "amount": "1.000000",
            "workspace_id": None,
            "description": None,
            "model": None,
            "cost_type": None,
            "token_type": None,
            "service_tier": None,
            "context_window": None,
            "inference_geo": None,
        }
    ],
}
ORGANIZATION = {"id": "uuid", "name": "Acme", "type": "organization"}

# Fields served beyond the examples because the official SDK's newer models have them.
USER_ADDITIONS = {
    "$.data[].claude_code_metrics.core_metrics": {"artifacts_created_count"},
    "$.data[].cowork_metrics": {"artifacts_created_count"},
}
API_KEY_ADDITIONS: dict[str, set[str]] = {}

Example = dict[str, Any]
