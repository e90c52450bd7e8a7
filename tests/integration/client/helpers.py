"""Shared settings for client-vs-simulator tests: fast retries and budgets matching the sim."""

from __future__ import annotations

from datetime import date

from streams.client import ApiClient, ApiFamily, RateBudgets, RetryPolicy
from streams.simulator import RunningSimulator

FAST_RETRY = RetryPolicy(
    max_attempts=4,
    max_rate_limited=3,
    backoff_base=0.01,
    backoff_max=0.05,
    rate_limit_base=0.05,
    rate_limit_max=0.2,
)
YESTERDAY = date(2026, 11, 19)


def budgets_for(sim: RunningSimulator) -> RateBudgets:
    """A fresh budget registry at exactly the simulator's limits."""
    config = sim.config
    return RateBudgets(
        {
            ApiFamily.ANALYTICS: config.analytics_rate,
            ApiFamily.ADMIN: config.admin_rate,
            ApiFamily.COMPLIANCE: config.compliance_rate,
            ApiFamily.SPEND_LIMITS: config.spend_limits_rate,
        },
        window=config.rate_window,
    )


def client_for(sim: RunningSimulator, *, timeout: float = 10.0, **options: object) -> ApiClient:
    options.setdefault("budgets", budgets_for(sim))
    return ApiClient(sim.connector(), timeout=timeout, retry=FAST_RETRY, seed=7, **options)  # type: ignore[arg-type]
