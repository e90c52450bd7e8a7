"""``claude-connector bench sync --users 100000 --json``: a first collection against the limits.

A simulator with ``users`` members runs in a subprocess (its own core, as a real API would),
rate-limited per minute at ``--admin-rate`` / ``--analytics-rate``. The client then runs what
a first collection reads, all concurrently: on the admin family the whole roster
(``limit=1000``) and the pending invites; on the analytics family one day of analytics users
and one day of usage and cost per actor (the Usage & Cost Analytics API). The two families
draw on separate rate budgets, so each is measured against its own limit. The API's rate limit
is the physical bound, so the baseline is the time the minimum number of requests needs at
the allowed rate, for the slower family:

    baseline = max(requests_admin / (admin_rate/60), requests_analytics / (analytics_rate/60))
    ratio    = wall / baseline          (target <= 1.10, with zero 429 answers)

The documented limits (100/min admin, 60/min analytics) make a 100 000-user run take 100 s;
by default both are scaled by ``--scale 3`` (300/min, 180/min), about 35 s. Higher scales
shrink the interval between requests towards the time one 1000-row page takes to build and
parse, and the run becomes latency-bound rather than rate-bound.
Also reported: the simulator's RSS and its mean time to answer one ``limit=1000`` page.
"""

from __future__ import annotations

import asyncio
import math
import re
import sys
import time
from datetime import UTC, date, datetime
from datetime import time as dt_time
from pathlib import Path
from typing import Any

import httpx

from streams.bench import benchmark
from streams.client import ApiClient, ApiFamily, RateBudgets
from streams.client.listing import Listing
from streams.config import ConnectorConfig, Secret
from streams.simulator import SimConfig

START_DATE = date(2026, 11, 20)
DAY = date(2026, 11, 19)
_STARTUP_SECONDS = 180


async def spawn_simulator(options: list[str]) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "streams",
        "simulate",
        "--port",
        "0",
        *options,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    async with asyncio.timeout(_STARTUP_SECONDS):
        while line := (await process.stdout.readline()).decode():
            if match := re.match(r"simulator: (\S+)", line):
                return process, match.group(1)
    raise RuntimeError("the simulator exited before it listened")


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return round(int(match.group(1)) / 1024, 1) if match else math.nan


async def _timed(*listings: Any) -> tuple[list[Listing[Any]], float]:
    """The listings of one family, run concurrently, and the wall time they took together."""
    started = time.perf_counter()
    results = await asyncio.gather(*listings)
    return list(results), time.perf_counter() - started


async def _run(users: int, seed: int, admin_rate: float, analytics_rate: float) -> dict[str, Any]:
    config = SimConfig()
    process, url = await spawn_simulator(
        [
            "--users",
            str(users),
            "--seed",
            str(seed),
            "--start-date",
            START_DATE.isoformat(),
            "--admin-rate",
            f"{admin_rate:g}",
            "--analytics-rate",
            f"{analytics_rate:g}",
        ]
    )
    try:
        connector = ConnectorConfig(
            "bench", url, Secret(config.analytics_key), Secret(config.admin_key)
        )
        budgets = RateBudgets({ApiFamily.ADMIN: admin_rate, ApiFamily.ANALYTICS: analytics_rate})
        async with ApiClient(connector, budgets=budgets) as api:
            start, end = (
                datetime.combine(DAY, dt_time(), UTC),
                datetime.combine(START_DATE, dt_time(), UTC),
            )
            started = time.perf_counter()
            (admin, admin_wall), (analytics, analytics_wall) = await asyncio.gather(
                _timed(api.members(), api.invites()),
                _timed(
                    api.analytics_users(DAY),
                    api.actor_usage(start, end),
                    api.actor_cost(start, end),
                ),
            )
            wall = time.perf_counter() - started
        async with httpx.AsyncClient(base_url=url) as http:
            stats = (await http.get("/_sim/stats")).json()
        rss = _rss_mb(process.pid)
    finally:
        process.terminate()
        await process.wait()
    roster, usage = admin[0], analytics[0]
    admin_requests = sum(listing.requests for listing in admin)
    analytics_requests = sum(listing.requests for listing in analytics)
    baseline_admin = admin_requests / (admin_rate / 60)
    baseline_analytics = analytics_requests / (analytics_rate / 60)
    baseline = max(baseline_admin, baseline_analytics)
    listings = [*admin, *analytics]
    return {
        "users": users,
        "admin_rate_per_minute": admin_rate,
        "analytics_rate_per_minute": analytics_rate,
        "completed": all(listing.completed for listing in listings),
        "roster_rows": len(roster.rows),
        "analytics_rows": len(usage.rows),
        "rows_per_endpoint": {listing.endpoint: len(listing.rows) for listing in listings},
        "requests_per_endpoint": {listing.endpoint: listing.requests for listing in listings},
        "admin_requests": admin_requests,
        "admin_wall_s": round(admin_wall, 3),
        "analytics_requests": analytics_requests,
        "analytics_wall_s": round(analytics_wall, 3),
        "requests": admin_requests + analytics_requests,
        "rate_limited_429": sum(listing.rate_limited for listing in listings),
        "wall_s": round(wall, 3),
        "baseline": "max over families of requests / allowed rate (seconds)",
        "baseline_s": round(baseline, 3),
        "ratio": round(wall / baseline, 4),
        "ratio_admin": round(admin_wall / baseline_admin, 4),
        "ratio_analytics": round(analytics_wall / baseline_analytics, 4),
        "simulator_rss_mb": rss,
        "simulator_roster_page_ms": round(
            stats["handler_ms:users"] / stats["handler_calls:users"], 2
        ),
        "simulator_analytics_page_ms": round(
            stats["handler_ms:analytics_users"] / stats["handler_calls:analytics_users"], 2
        ),
        "simulator_429": stats.get("status:429", 0),
    }


@benchmark("sync")
def sync(
    users: int = 100_000,
    seed: int = 1,
    scale: float = 3.0,
    admin_rate: float | None = None,
    analytics_rate: float | None = None,
) -> dict[str, Any]:
    """A first collection's listings per family, concurrently; see the module docstring."""
    return asyncio.run(
        _run(
            users,
            seed,
            admin_rate if admin_rate is not None else 100.0 * scale,
            analytics_rate if analytics_rate is not None else 60.0 * scale,
        )
    )
