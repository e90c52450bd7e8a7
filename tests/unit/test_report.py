"""The report's alert marks from alert events, and its Markdown, CSV and JSON output."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import orjson

from streams.events.records import AlertReason, AlertState, Severity, ShadowItAlert
from streams.insights import DayUsage, MemberFacts, Window, compute
from streams.report import alert_mark, render

USD = 100_000_000


def alert(state: AlertState, observed: datetime) -> ShadowItAlert:
    return ShadowItAlert(
        event_id=f"e-{state}", alert_id="a1", org_id="org", user_id="u1", email="u1@x.com",
        state=state, reason=AlertReason.PERSONAL_DOMAIN, severity=Severity.HIGH, evidence={},
        baseline=False, connector="c", cause_event_id=None,
        opened_at=datetime(2026, 11, 2, 9, tzinfo=UTC), observed_at=observed,
    )


def test_an_alert_mark_follows_its_events():
    opened = alert_mark(None, alert(AlertState.OPENED, datetime(2026, 11, 2, 9, tzinfo=UTC)))
    assert (opened.reason, opened.opened_day, opened.resolved_day) == (
        "PERSONAL_DOMAIN", "2026-11-02", None)
    resolved = alert_mark(opened, alert(AlertState.RESOLVED, datetime(2026, 11, 4, tzinfo=UTC)))
    assert (resolved.opened_day, resolved.resolved_day) == ("2026-11-02", "2026-11-04")


FIGURES = compute(
    "org",
    [
        MemberFacts("org", "u1", "u1@x.com", "U One", "admin", True, "2026-01-01",
                    "2026-11-03", {"2026-11-03": DayUsage(12 * USD, 500, True)},
                    {"chat": "2026-11-01"}),
        MemberFacts("org", "u2", "u2@x.com", None, "user", True, "2026-01-01", None, {}),
    ],
    [],
    Window(last=date(2026, 11, 3), days=2, idle_days=30),
).finish(25.0)


def test_markdown_says_the_headline_figures():
    text = render(FIGURES, "md")
    assert "Members: 2; active in the window: 1 (adoption 50%)" in text
    assert "Spend: $12.00; tokens: 500" in text
    assert "Idle seats (no activity for 30 days): 1 (about $25.00 a month)" in text
    assert "| 2026-11-03 | 12.00 | 500 | 1 | chat 1 |" in text
    assert "| u2@x.com | user | never | 2026-01-01 |" in text


def test_csv_has_one_row_per_figure_and_json_every_field():
    rows = list(csv.reader(io.StringIO(render(FIGURES, "csv"))))
    assert rows[0] == ["figure", "day", "key", "value"]
    assert ["spend_usd", "2026-11-03", "all", "12.0"] in rows
    assert ["seats", "", "idle", "1"] in rows
    assert ["idle_seat", "", "u2@x.com", "user"] in rows
    data = orjson.loads(render(FIGURES, "json"))
    assert data["seats"] == {"members": 2, "active": 1, "idle": 1, "pending_invites": None,
                             "assigned": None}
    assert data["idle_cost_usd_per_month"] == 25.0
