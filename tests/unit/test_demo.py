"""The demo's pure parts: churn per tick, the worker's metrics, the summary lines."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from streams.demo import (
    CHURN_PER_DAY,
    ChurnPlan,
    applied_events,
    clean_stale_runs,
    parse_metrics,
    render,
    summarize,
)
from streams.poller.cycle import CycleReport

METRICS = """# HELP claude_worker_events_total Input messages applied, by topic.
# TYPE claude_worker_events_total counter
claude_worker_events_total{topic="claude.user-events"} 205
claude_worker_events_total{topic="claude.usage-deltas"} 2056
# TYPE claude_worker_members gauge
claude_worker_members 201
claude_worker_open_alerts{reason="PERSONAL_DOMAIN"} 4
claude_worker_open_alerts{reason="UNMANAGED_IDENTITY"} 12
claude_worker_open_alerts{reason="SPEND_SPIKE"} 0
claude_worker_open_alerts{reason="quoted \\"odd\\" \\\\ reason"} 1
"""

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


def test_metrics_are_parsed_with_their_labels():
    samples = parse_metrics(METRICS)
    assert ("claude_worker_members", {}, 201.0) in samples
    assert ("claude_worker_open_alerts", {"reason": 'quoted "odd" \\ reason'}, 1.0) in samples
    assert applied_events(METRICS, "claude.user-events") == 205
    assert applied_events(METRICS, "claude.nothing") == 0


def test_summary_counts_open_alerts_by_reason_biggest_first():
    summary = summarize(METRICS, STATUS, "2026-11-28 12:00 UTC", None)
    assert summary.members == 201
    assert list(summary.open_alerts) == [
        "UNMANAGED_IDENTITY", "PERSONAL_DOMAIN", 'quoted "odd" \\ reason'
    ]
    assert summary.alert_total == 17
    assert summary.status == "HEALTHY"
    assert summarize("", {"data": []}, "t", None).status == "no status yet"


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
    lines = render(summarize(METRICS, STATUS, "2026-11-28 12:00 UTC", report))
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
