"""Row parsing: money as Decimal, required fields, tolerated extras, both documented spellings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from streams.client import (
    AnalyticsUserDay,
    ApiKeyInfo,
    DaySummary,
    Member,
    ReportActor,
    RowError,
    UserCost,
    parse_cents,
)


@pytest.mark.parametrize(
    ("raw", "cents"),
    [
        ("41280.000000", Decimal("41280.000000")),
        ("123.45", Decimal("123.45")),
        ("0", Decimal(0)),
        (186, Decimal(186)),
        (0.1, Decimal("0.1")),
    ],
)
def test_cents_parse_exactly(raw: object, cents: Decimal) -> None:
    assert parse_cents(raw) == cents


@pytest.mark.parametrize("raw", [True, None, "12,50", "NaN", "Infinity", [], "abc"])
def test_cents_refuse_non_amounts(raw: object) -> None:
    with pytest.raises(RowError):
        parse_cents(raw)


MEMBER = {
    "type": "user",
    "id": "user_01WCz1FkmYMm4gnmykNKUu3Q",
    "email": "jane@example.com",
    "name": "Jane Smith",
    "role": "user",
    "added_at": "2026-06-12T09:14:03Z",
}


def test_member_parses_and_ignores_unknown_fields() -> None:
    member = Member.from_api({**MEMBER, "new_field": {"nested": 1}})
    assert member.id == "user_01WCz1FkmYMm4gnmykNKUu3Q"
    assert member.added_at.isoformat() == "2026-06-12T09:14:03+00:00"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"email": None}, "missing required field 'email'"),
        ({"role": 3}, "'role' must be a string"),
        ({"added_at": "yesterday"}, "not an RFC 3339"),
        ({"added_at": "2026-06-12T09:14:03"}, "no timezone"),
    ],
)
def test_member_refuses_bad_rows(change: dict, message: str) -> None:
    with pytest.raises(RowError, match=message):
        Member.from_api({**MEMBER, **change})


def test_a_row_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(RowError, match="expected an object"):
        Member.from_api(["not", "a", "row"])  # type: ignore[arg-type]


def _user_row(**extra: object) -> dict:
    return {
        "user": {"id": "user_1", "email_address": "a@acme.example", "type": "user"},
        "chat_metrics": {"message_count": 4, "distinct_conversation_count": None},
        "claude_code_metrics": {
            "core_metrics": {
                "distinct_session_count": 2,
                "commit_count": 1,
                "lines_of_code": {"added_count": 10, "removed_count": 2},
            },
            "tool_actions": {"edit_tool": {"accepted_count": 1, "rejected_count": 0}},
        },
        "office_metrics": {"excel": {"message_count": 3, "distinct_session_count": 1}},
        "web_search_count": 2,
        "last_activity_date": "2026-11-19",
        **extra,
    }


def test_analytics_user_flattens_metrics_and_sums_families() -> None:
    row = AnalyticsUserDay.from_api(
        _user_row(bioscience_metrics={"message_count": 5, "distinct_session_count": 1})
    )
    assert row.metrics["claude_code_metrics.core_metrics.lines_of_code.added_count"] == 10
    assert row.metrics["science_metrics.message_count"] == 5
    assert row.metrics["chat_metrics.distinct_conversation_count"] is None
    assert row.message_count == 4 + 3 + 5
    assert row.session_count == 2 + 1 + 1
    assert row.surfaces_used == {"chat", "claude_code", "office_excel", "science"}
    assert row.last_activity_date == date(2026, 11, 19)


@pytest.mark.parametrize(
    ("odd", "left_out"),
    [
        ({"chat_metrics": {"message_count": "4"}}, "chat_metrics.message_count"),
        ({"chat_metrics": {"message_count": True}}, "chat_metrics.message_count"),
        ({"chat_metrics": {"message_count": 4.5}}, "chat_metrics.message_count"),
        ({"chat_metrics": {"message_count": [4]}}, "chat_metrics.message_count"),
        ({"cowork_metrics": [1, 2]}, "cowork_metrics"),
    ],
)
def test_an_unexpected_metric_value_keeps_the_row(odd: dict, left_out: str) -> None:
    row = AnalyticsUserDay.from_api(_user_row(**odd))
    assert row.unparsed == (left_out,)
    assert left_out not in row.metrics
    assert row.metrics["claude_code_metrics.core_metrics.commit_count"] == 1
    assert row.session_count == 2 + 1


@pytest.mark.parametrize("bad", [{"user": None}, {"web_search_count": None}])
def test_analytics_user_refuses_rows_without_identity_or_required_counts(bad: dict) -> None:
    with pytest.raises(RowError):
        AnalyticsUserDay.from_api(_user_row(**bad))


UNIFIED_CHAT = {
    "chat": {"message_count": 7, "distinct_conversation_count": 2},
    "sessions": {"message_count": 0, "action_count": 3, "distinct_session_count": 1},
}


def test_unified_chat_and_claude_tag_count_as_activity() -> None:
    row = AnalyticsUserDay.from_api(
        {
            **_user_row(chat_cowork_unified_metrics=UNIFIED_CHAT),
            "chat_metrics": {"message_count": 0},
            "claude_code_metrics": {"core_metrics": {"distinct_session_count": 0}},
            "office_metrics": {},
            "claude_tag_metrics": {"active_day_count": 1, "active_message_count": 5},
        }
    )
    assert row.message_count == 7 + 5
    assert row.session_count == 1
    assert row.surfaces_used == {"chat", "cowork", "claude_tag"}


COUNTS = {
    "daily_active_user_count": 4,
    "weekly_active_user_count": 6,
    "monthly_active_user_count": 8,
    "assigned_seat_count": 9,
    "daily_adoption_rate": 44.4,
}


@pytest.mark.parametrize(
    "dates",
    [
        {"starting_at": "2026-11-20T00:00:00Z", "ending_at": "2026-11-21T00:00:00Z"},
        {"starting_date": "2026-11-20", "ending_date": "2026-11-21"},
    ],
)
def test_summaries_accept_both_documented_spellings(dates: dict) -> None:
    summary = DaySummary.from_api({**dates, **COUNTS})
    assert (summary.starting_date, summary.ending_date) == (date(2026, 11, 20), date(2026, 11, 21))
    assert summary.counts["daily_adoption_rate"] == 44.4
    assert summary.pending_invite_count is None


@pytest.mark.parametrize("spelling", ["email", "email_address"])
def test_actor_accepts_both_email_spellings(spelling: str) -> None:
    actor = ReportActor.from_api(
        {
            "type": "user_actor",
            "user_id": "user_1",
            spelling: "lee@acme.example",
            "name": "Lee",
            "deleted": True,
        }
    )
    assert actor.email == "lee@acme.example"
    assert actor.deleted is True


def test_cost_rows_keep_cents_exact() -> None:
    row = UserCost.from_api(
        {
            "actor": {
                "type": "user_actor",
                "user_id": "user_1",
                "email_address": None,
                "name": "Deleted User",
                "deleted": True,
            },
            "currency": "USD",
            "amount": "8812.500000",
            "list_amount": "11015.625000",
            "requests": 240,
            "starting_at": None,
        }
    )
    assert row.amount == Decimal("8812.5")
    assert row.list_amount == Decimal("11015.625")
    assert row.actor.email is None


def test_cost_rows_refuse_float_like_garbage() -> None:
    with pytest.raises(RowError, match="amount"):
        UserCost.from_api(
            {
                "actor": {"type": "user_actor", "user_id": "u", "deleted": False},
                "currency": "USD",
                "amount": "eight dollars",
            }
        )


@pytest.mark.parametrize(
    "principal",
    [{"type": "user_actor", "user_id": "user_1"}, {"id": "user_1", "type": "user"}],
)
def test_api_key_principal_in_either_documented_shape(principal: dict) -> None:
    key = ApiKeyInfo.from_api(
        {
            "type": "api_key",
            "id": "apikey_1",
            "name": "ci",
            "status": "active",
            "created_at": "2026-05-02T11:00:00Z",
            "workspace_id": None,
            "scope": {"type": "workspace", "workspace_id": "wrkspc_1"},
            "created_by": {"id": "user_2", "type": "user"},
            "principal": principal,
        }
    )
    assert key.principal_id == "user_1" and key.created_by_id == "user_2"
    assert key.workspace_id == "wrkspc_1"
