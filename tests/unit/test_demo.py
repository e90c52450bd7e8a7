"""The demo's pure parts: churn per tick, the worker's views read, the summary lines; and a
stop that insists when a cancellation is lost."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from streams.demo import (
    CHURN_PER_DAY,
    ChurnPlan,
    alerts_by_reason,
    applied_events,
    cancel_until_unwinding,
    clean_stale_runs,
    findings_by_severity,
    render,
    summarize,
)
from streams.poller.cycle import CycleReport

USERS = {"data": [], "count": 0, "total": 201, "partitions": [0, 1], "partitions_total": 2,
         "ready": True, "complete": True}
OPEN_ALERTS = {"PERSONAL_DOMAIN": 4, "UNMANAGED_IDENTITY": 12, "SPEND_SPIKE": 0,
               "DEPROVISIONED_ACTIVE": 1}
HEALTH = {"status": "ready", "events": {"claude.user-events": 205, "claude.usage-deltas": 2056}}

STATUS = {"data": [{"connector": "other", "state": "DEGRADED"},
                   {"connector": "demo", "state": "HEALTHY"}]}


def test_churn_carries_fractions_so_small_orgs_churn_too():
    plan = ChurnPlan(users=200)
    ticks = [plan.take(6.0) for _ in range(80)]  # 20 simulated days
    assert sum(tick["add"] for tick in ticks) == 200 * CHURN_PER_DAY["add"] * 20
    assert ticks[0] == {"add": 0, "remove": 0, "role_changes": 0}
    assert plan.take(0) == {"add": 0, "remove": 0, "role_changes": 0}


def test_large_orgs_churn_every_tick():
    assert ChurnPlan(users=24_000).take(1.0) == {"add": 10, "remove": 6, "role_changes": 5}


def test_applied_events_come_from_the_health_view():
    assert applied_events(HEALTH, "claude.user-events") == 205
    assert applied_events(HEALTH, "claude.nothing") == 0
    assert applied_events({"status": "starting"}, "claude.user-events") == 0


def test_open_alerts_are_counted_per_reason_from_one_alerts_page():
    page = {"data": [{"reason": "PERSONAL_DOMAIN"}, {"reason": "SPEND_SPIKE"},
                     {"reason": "PERSONAL_DOMAIN"}], "total": 3}
    assert alerts_by_reason(page) == {"PERSONAL_DOMAIN": 2, "SPEND_SPIKE": 1}
    assert alerts_by_reason({"data": []}) == {}


def test_summary_counts_open_alerts_by_reason_biggest_first():
    summary = summarize(USERS, OPEN_ALERTS, STATUS, "2026-11-28 12:00 UTC", None)
    assert summary.members == 201
    assert list(summary.open_alerts) == [
        "UNMANAGED_IDENTITY", "PERSONAL_DOMAIN", "DEPROVISIONED_ACTIVE"
    ]
    assert summary.alert_total == 17
    assert summary.status == "HEALTHY"
    assert summarize({}, {}, {"data": []}, "t", None).status == "no status yet"


def test_summary_line_adds_adoption_and_idle_seats_from_the_insights():
    insights = {"data": {"adoption": 0.8312, "seats": {"members": 201, "idle": 9}}}
    summary = summarize(USERS, OPEN_ALERTS, STATUS, "2026-11-28 12:00 UTC", None, insights)
    assert render(summary)[0] == (
        "simulated time 2026-11-28 12:00 UTC   members 201   adoption 83%   idle seats 9   "
        "connector HEALTHY")


@pytest.mark.parametrize(
    ("counts", "events", "expected"),
    [
        ({"ADDED": 2, "REMOVED": 1, "UsageDelta": 30}, 33,
         "cycle demo:7: 2 added, 1 removed, 30 usage deltas in 1.5s"),
        ({}, 0, "last poll: no changes in 1.5s"),
    ],
)
def test_render_says_what_the_cycle_changed(counts, events, expected):
    report = CycleReport("demo", "demo:7", events, counts=counts, seconds=1.5)
    lines = render(summarize(USERS, OPEN_ALERTS, STATUS, "2026-11-28 12:00 UTC", report))
    assert lines[0] == "simulated time 2026-11-28 12:00 UTC   members 201   connector HEALTHY"
    assert lines[1].startswith("open alerts 17: UNMANAGED_IDENTITY 12, PERSONAL_DOMAIN 4")
    assert lines[2] == expected


def test_stale_run_dirs_are_removed_and_live_ones_kept(tmp_path):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "demo"])
    try:
        for name, pid in (("run-dead", 2**22 + 7), ("run-live", live.pid), ("run-empty", None)):
            (tmp_path / name).mkdir()
            if pid:
                (tmp_path / name / "demo.json").write_text(json.dumps({"pid": pid}))
        said: list[str] = []
        clean_stale_runs(tmp_path, tmp_path / "cache", said.append)
        assert sorted(path.name for path in tmp_path.glob("run-*")) == ["run-live"]
        assert said == []
    finally:
        live.kill()
        live.wait()


def test_render_shows_findings_by_severity_most_severe_first():
    identities = {"data": [{"severity": "LOW"}, {"severity": "CRITICAL"}, {"severity": "LOW"},
                           {"severity": "HIGH"}]}
    findings = findings_by_severity(identities)
    assert list(findings.items()) == [("CRITICAL", 1), ("HIGH", 1), ("LOW", 2)]
    lines = render(summarize(USERS, OPEN_ALERTS, STATUS, "t", None, findings=findings))
    assert lines[2] == "findings 4 identities: CRITICAL 1, HIGH 1, LOW 2"


async def test_a_lost_cancellation_is_sent_again_until_the_parts_stop():
    """The first cancellation is swallowed (as ``asyncio.wait_for`` can): the demo is
    cancelled again; once it stops its parts, it is left to finish."""
    demo = SimpleNamespace(stopping_parts=False)
    steps: list[str] = []

    async def run() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            steps.append("lost")  # carries on as if it had not been cancelled
        try:
            await asyncio.sleep(30)
        finally:
            demo.stopping_parts = True
            await asyncio.sleep(0.05)  # stopping the parts: not cut short
            steps.append("stopped")

    work = asyncio.ensure_future(run())
    await asyncio.sleep(0)
    work.cancel()
    await asyncio.wait_for(cancel_until_unwinding(work, demo, interval=0.01), timeout=5)
    with pytest.raises(asyncio.CancelledError):
        await work
    assert steps == ["lost", "stopped"]
