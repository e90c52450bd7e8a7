"""Smoke run of ``bench sync``: a subprocess simulator, both listings complete, no 429."""

from __future__ import annotations

from streams.bench import registry


def test_bench_sync_reports_a_complete_run_without_429() -> None:
    result = registry()["sync"](users=3000, scale=30)
    assert result["roster_completed"] and result["analytics_completed"]
    assert result["roster_rows"] == 3000 and result["roster_requests"] == 3
    assert result["rate_limited_429"] == 0 and result["simulator_429"] == 0
    assert result["requests"] == result["roster_requests"] + result["analytics_requests"]
    assert result["ratio"] > 0 and result["baseline_s"] > 0
    assert 0 < result["simulator_rss_mb"] < 500
