"""Smoke run of ``bench sync``: a subprocess simulator, every listing of every family (admin,
analytics, spend limits) completes, no 429."""

from __future__ import annotations

from streams.bench import registry
from streams.client import endpoints as ep


def test_bench_sync_reports_a_complete_run_without_429() -> None:
    result = registry()["sync"](users=3000, scale=30, groups=3)
    assert result["completed"]
    assert result["roster_rows"] == 3000
    requests = result["requests_per_endpoint"]
    assert requests[ep.MEMBERS.path] == 3
    assert result["rows_per_endpoint"][ep.ACTOR_USAGE.path] > 0
    assert result["rows_per_endpoint"][ep.ACTOR_COST.path] > 0
    assert result["spend_limit_rows"] == 3000
    assert requests[ep.EFFECTIVE_SPEND_LIMITS.path] == 30
    assert requests[ep.RBAC_GROUPS.path] >= 1
    assert requests[ep.RBAC_GROUP_MEMBERS.path] >= 3
    assert result["rate_limited_429"] == 0 and result["simulator_429"] == 0
    assert result["requests"] == sum(requests.values())
    assert result["requests"] == (
        result["admin_requests"] + result["analytics_requests"] + result["spend_limits_requests"]
    )
    assert result["spend_limits_requests"] == (
        requests[ep.EFFECTIVE_SPEND_LIMITS.path] + requests[ep.SPEND_LIMIT_INCREASE_REQUESTS.path]
    )
    per_second = result["spend_limits_rate_per_minute"] / 60
    assert result["baseline_s"] >= round(result["spend_limits_requests"] / per_second, 3)
    assert result["ratio"] > 0 and result["baseline_s"] > 0
    assert 0 < result["simulator_rss_mb"] < 500
