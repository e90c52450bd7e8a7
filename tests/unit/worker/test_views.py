"""The views' pure helpers: token and host checks, exposure, parameters, shapes."""

from __future__ import annotations

from datetime import date

import pytest

from streams.config import Settings
from streams.errors import ConfigError
from streams.worker.insightsview import window_of
from streams.worker.rows import AlertsRow, OpenAlert, ResolvedAlert, UserRow
from streams.worker.views import (
    BadRequest,
    alert_views,
    allowed_hosts,
    authorized,
    bounded_int,
    check_exposure,
    choice,
    host_name,
    is_loopback,
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


def test_loopback_addresses():
    assert all(map(is_loopback, ["127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.4", "worker.example", ""]))


def test_views_beyond_loopback_need_a_token_unless_insisted():
    check_exposure(Settings.load({}), insecure_no_token=False)
    open_bind = Settings.load({"WEB_HOST": "0.0.0.0"})
    with pytest.raises(ConfigError, match="--insecure-no-token"):
        check_exposure(open_bind, insecure_no_token=False)
    check_exposure(open_bind, insecure_no_token=True)
    check_exposure(Settings.load({"WEB_HOST": "0.0.0.0", "WEB_TOKEN": "t"}),
                   insecure_no_token=False)


def test_the_host_names_a_request_may_carry():
    assert allowed_hosts(Settings.load({})) == {"localhost", "127.0.0.1", "::1"}
    behind = Settings.load({"WEB_HOST": "0.0.0.0",
                            "WEB_ADVERTISED_URL": "http://Worker-1.internal:6066"})
    assert allowed_hosts(behind) == {"localhost", "127.0.0.1", "::1", "worker-1.internal"}
    assert "10.0.0.4" in allowed_hosts(Settings.load({"WEB_HOST": "10.0.0.4"}))
    extra = allowed_hosts(Settings.load({"WEB_ALLOWED_HOSTS": "Views.Example, *"}))
    assert {"views.example", "*"} <= extra
    assert [host_name(h) for h in ("evil.example:6066", "LOCALHOST", "[::1]:80", "::1", None)] \
        == ["evil.example", "localhost", "::1", "::1", ""]


def test_the_insights_window_comes_from_days_and_until():
    today = date(2026, 11, 30)
    window = window_of({}, idle_days=30, today=today)
    assert (window.first, window.last, window.idle_days) == (date(2026, 11, 1), today, 30)
    window = window_of({"days": "7", "until": "2026-10-31"}, idle_days=5, today=today)
    assert (window.first, window.last) == (date(2026, 10, 25), date(2026, 10, 31))
    for query in ({"days": "0"}, {"days": "367"}, {"until": "yesterday"},
                  {"until": "0001-01-05", "days": "30"}):
        with pytest.raises(BadRequest):
            window_of(query, idle_days=30, today=today)
