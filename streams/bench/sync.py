"""``claude-connector bench sync --users 100000 --json``: a first collection against the limits.

A simulator with ``users`` members runs in a subprocess (its own core, as a real API would),
rate-limited per minute at ``--admin-rate`` / ``--analytics-rate``. The client then lists the
whole roster (``limit=1000``) and one day of analytics users, concurrently: the two families
draw on separate rate budgets, so each is measured against its own limit (the poller's cycle
lists them one after the other). The API's rate limit is the physical bound, so the baseline
is the time the minimum number of requests needs at the allowed rate, for the slower family:

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
from datetime import date
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


async def _start(options: list[str]) -> tuple[asyncio.subprocess.Process, str]:
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


async def _timed(listing: Any) -> tuple[Listing[Any], float]:
    started = time.perf_counter()
    result = await listing
    return result, time.perf_counter() - started


async def _run(users: int, seed: int, admin_rate: float, analytics_rate: float) -> dict[str, Any]:
    config = SimConfig()
    process, url = await _start(
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
            started = time.perf_counter()
            (roster, roster_wall), (usage, usage_wall) = await asyncio.gather(
                _timed(api.members()), _timed(api.analytics_users(DAY))
            )
            wall = time.perf_counter() - started
        async with httpx.AsyncClient(base_url=url) as http:
            stats = (await http.get("/_sim/stats")).json()
        rss = _rss_mb(process.pid)
    finally:
        process.terminate()
        await process.wait()
    baseline_admin = roster.requests / (admin_rate / 60)
    baseline_analytics = usage.requests / (analytics_rate / 60)
    baseline = max(baseline_admin, baseline_analytics)
    return {
        "users": users,
        "admin_rate_per_minute": admin_rate,
        "analytics_rate_per_minute": analytics_rate,
        "roster_completed": roster.completed,
        "roster_rows": len(roster.rows),
        "roster_requests": roster.requests,
        "roster_wall_s": round(roster_wall, 3),
        "analytics_completed": usage.completed,
        "analytics_rows": len(usage.rows),
        "analytics_requests": usage.requests,
        "analytics_wall_s": round(usage_wall, 3),
        "requests": roster.requests + usage.requests,
        "rate_limited_429": roster.rate_limited + usage.rate_limited,
        "wall_s": round(wall, 3),
        "baseline": "max over families of requests / allowed rate (seconds)",
        "baseline_s": round(baseline, 3),
        "ratio": round(wall / baseline, 4),
        "ratio_admin": round(roster_wall / baseline_admin, 4),
        "ratio_analytics": round(usage_wall / baseline_analytics, 4),
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
    """Full roster plus one day of analytics users; see the module docstring."""
    return asyncio.run(
        _run(
            users,
            seed,
            admin_rate if admin_rate is not None else 100.0 * scale,
            analytics_rate if analytics_rate is not None else 60.0 * scale,
        )
    )
