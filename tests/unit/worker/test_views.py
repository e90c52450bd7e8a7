"""The views' pure helpers: token check, parameters, shapes."""

from __future__ import annotations

import pytest

from streams.worker.rows import AlertsRow, OpenAlert, ResolvedAlert, UserRow
from streams.worker.views import (
    BadRequest,
    alert_views,
    authorized,
    bounded_int,
    choice,
    user_view,
)


def test_token_check():
    assert authorized(None, None)
    assert authorized("Bearer abc", "abc")
    assert authorized("bearer  abc ", "abc")
    assert not authorized(None, "abc")
    assert not authorized("Bearer abd", "abc")
    assert not authorized("Basic abc", "abc")
    assert not authorized("Bearer ", "abc")
    assert not authorized(b"Bearer \xe9t\xe9".decode("utf-8", "surrogateescape"), "abc")
    assert not authorized("Bearer \u00fcber", "abc")


def test_parameters_are_validated():
    assert choice({}, "state", ("open", "all"), "open") == "open"
    with pytest.raises(BadRequest, match="state must be one of open, all"):
        choice({"state": "x"}, "state", ("open", "all"), "open")
    assert bounded_int({"limit": "5"}, "limit", 10, 1, 100) == 5
    for raw in ("0", "101", "x", "1.5"):
        with pytest.raises(BadRequest):
            bounded_int({"limit": raw}, "limit", 10, 1, 100)


def test_shapes():
    row = UserRow(org_id="o", user_id="u", email="e@x", name=None, role="admin", workspaces={},
                  added_at=None, status="member", first_seen="t", last_seen="t", baseline=False,
                  connector="c", source="ROSTER", partition=0, applied=("hidden",))
    shown = user_view(row)
    assert (shown["id"], shown["email"], shown["role"]) == ("u", "e@x", "admin")
    assert "applied" not in shown and "partition" not in shown
    opened = OpenAlert(alert_id="a1", event_id="e1", severity="HIGH", evidence={},
                       baseline=True, opened_at="t", cause_event_id="c1")
    resolved = ResolvedAlert(alert_id="a0", event_id="e0", severity="MEDIUM", evidence={},
                             baseline=False, opened_at="t0", cause_event_id="c0",
                             reason="SPEND_SPIKE", resolved_at="t1", resolve_event_id="r0")
    alerts = AlertsRow(org_id="o", user_id="u", email="e@x", partition=0,
                       open={"PERSONAL_DOMAIN": opened}, resolved=(resolved,), raised={})
    (open_alert,) = alert_views(alerts, "open")
    assert {k: open_alert[k] for k in ("user_id", "email", "reason", "severity", "baseline",
                                       "state")} == {
        "user_id": "u", "email": "e@x", "reason": "PERSONAL_DOMAIN", "severity": "HIGH",
        "baseline": True, "state": "OPENED"}
    assert [a["state"] for a in alert_views(alerts, "all")] == ["OPENED", "RESOLVED"]
