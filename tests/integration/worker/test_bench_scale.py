"""Smoke run of ``bench scale`` on the session broker: every phase completes and reports."""

from __future__ import annotations

import pytest

from streams.bench import registry

pytestmark = pytest.mark.kafka

USERS = 300


def test_bench_scale_measures_collection_workers_recovery_and_rebuild(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    result = registry()["scale"](users=USERS, workers=1, partitions=2, days=1, limits="demo",
                                 timeout=120)
    assert result["broker"] == "given" and result["identities_ms"] > 0
    requests = result["demo_limits_requests"]
    assert requests["admin"] >= 1 and requests["spend_limits"] >= USERS // 100
    bound = max(requests[family] * 60 / 600 for family in ("admin", "analytics", "spend_limits"))
    assert result["demo_limits_bound_s"] == pytest.approx(bound, abs=0.01)
    assert result["demo_limits_events"] > USERS and result["demo_limits_bound_s"] > 0
    assert result["ratio"] == pytest.approx(
        result["demo_limits_wall_s"] / result["demo_limits_bound_s"], rel=0.01
    )
    assert 0 < result["demo_limits_poller_peak_rss_mb"] < 1024
    for phase in ("apply", "recover_memory", "recover_rocksdb", "rebuild"):
        (rss,) = result[f"{phase}_peak_rss_mb"]
        assert 0 < rss < 1024
        assert 0 < result[f"{phase}_ready_s"] <= result[f"{phase}_complete_s"]
    assert result["apply_events"] > USERS and result["rebuild_events"] >= result["apply_events"]
    assert result["apply_events_per_s"] > 0 and result["rebuild_events_per_s"] > 0
    assert result["raw_fold_per_s"] > 0 and result["worker_vs_raw"] > 0
    assert len(result["raw_fold_runs_per_s"]) == 2 and result["worker_vs_raw_usage"] > 0
    # the baseline folds what the workers apply, but for the few invitation and status events
    assert 0.95 * result["apply_events"] <= result["raw_fold_events"] <= result["apply_events"]
    assert result["users_list_ms"] > 0
