"""A small run of ``bench diff``: its events agree with the bare comparison (checked inside)."""

from __future__ import annotations

from streams.bench import registry


def test_small_run_reports_the_figures() -> None:
    result = registry()["diff"](users=600, churn=0.05, runs=1)
    assert result["events_by_op"] == {"ADDED": 10, "REMOVED": 10, "UPDATED": 10}
    assert result["baseline_snapshot_events"] == 600
    for key in ("diff_seconds", "bare_seconds", "ratio", "roster_state_mb", "process_peak_rss_mb"):
        assert result[key] > 0
