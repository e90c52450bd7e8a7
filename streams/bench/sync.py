"""``claude-connector bench sync --users 100000 --json``: a first collection against the limits.

A simulator with ``users`` members (and ``groups`` RBAC groups) runs in a subprocess (its own
core, as a real API would), rate-limited per minute at ``--admin-rate`` / ``--analytics-rate``
/ ``--spend-limits-rate``. The client then runs what a first collection's listings read, all
concurrently: on the admin family the whole roster (``limit=1000``), the pending invites and
the RBAC groups with their members; on the analytics family one day of analytics users and
one day of usage and cost per actor (the Usage & Cost Analytics API); on the spend-limits
family every member's effective spend limit (100 rows a page) and the pending increase
requests. Each family draws on its own rate budget, so each is measured against its own
limit. The API's rate limit is the physical bound, so the baseline is the time the minimum
number of requests needs at the allowed rate, for the slowest family:

    baseline = max over families of requests_family / (rate_family/60)
    ratio    = wall / baseline          (target <= 1.10, with zero 429 answers)

At 100 000 members the spend limits are the slowest family: about 1 000 pages, 1 000 s at
the documented 60/min (the roster's 100 pages at 100/min take 60 s). By default every limit
is scaled by ``--scale 3`` (300/min, 180/min, 180/min), about 335 s. Higher scales shrink the
interval between requests towards the time one page takes to build and parse, and the run
becomes latency-bound rather than rate-bound.
Also reported: the simulator's RSS and its mean time to answer one ``limit=1000`` page.
"""
from __future__ import annotations

import asyncio
import math
import re
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from datetime import time as dt_time
from pathlib import Path
from typing import Any

import httpx

from streams.bench import benchmark
from streams.client import ApiClient, ApiFamily, RateBudgets
from streams.client.listing import Listing
from streams.client.ratelimit import DEFAULT_RATES
from streams.config import ConnectorConfig, Secret
from streams.poller.collect import SpendReading
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


async def _timed(listings: Awaitable[list[Listing[Any]]]) -> tuple[list[Listing[Any]], float]:
    """The listings of one family and the wall time they took together."""
    started = time.perf_counter()
    results = await listings
    return results, time.perf_counter() - started


async def _concurrently(*listings: Awaitable[Listing[Any]]) -> list[Listing[Any]]:
    return list(await asyncio.gather(*listings))


async def _admin(api: ApiClient) -> list[Listing[Any]]:
    """The roster, the pending invites, the RBAC groups and then each group's members."""
    roster, invites, groups = await _concurrently(api.members(), api.invites(), api.rbac_groups())
    members = await _concurrently(*(api.rbac_group_members(group.id) for group in groups.rows))
    return [roster, invites, groups, *members]


async def _run(
    users: int, seed: int, groups: int, rates: dict[ApiFamily, float]
) -> dict[str, Any]:
    config = SimConfig()
    process, url = await spawn_simulator(
        [
            "--users",
            str(users),
            "--seed",
            str(seed),
            "--groups",
            str(groups),
            "--start-date",
            START_DATE.isoformat(),
            "--admin-rate",
            f"{rates[ApiFamily.ADMIN]:g}",
            "--analytics-rate",
            f"{rates[ApiFamily.ANALYTICS]:g}",
            "--spend-limits-rate",
            f"{rates[ApiFamily.SPEND_LIMITS]:g}",
        ]
    )
    try:
        connector = ConnectorConfig(
            "bench", url, Secret(config.analytics_key), Secret(config.admin_key)
        )
        async with ApiClient(connector, budgets=RateBudgets(rates)) as api:
            start, end = (
                datetime.combine(DAY, dt_time(), UTC),
                datetime.combine(START_DATE, dt_time(), UTC),
            )
            started = time.perf_counter()
            timed = await asyncio.gather(
                _timed(_admin(api)),
                _timed(
                    _concurrently(
                        api.analytics_users(DAY),
                        api.actor_usage(start, end),
                        api.actor_cost(start, end),
                    )
                ),
                _timed(
                    _concurrently(
                        api.effective_spend_limits(SpendReading.of),
                        api.spend_limit_increase_requests(statuses=("pending",)),
                    )
                ),
            )
            wall = time.perf_counter() - started
        async with httpx.AsyncClient(base_url=url) as http:
            stats = (await http.get("/_sim/stats")).json()
        rss = _rss_mb(process.pid)
    finally:
        process.terminate()
        await process.wait()
    order = (ApiFamily.ADMIN, ApiFamily.ANALYTICS, ApiFamily.SPEND_LIMITS)
    families = dict(zip(order, timed, strict=True))
    requests = {
        family: sum(listing.requests for listing in listings)
        for family, (listings, _) in families.items()
    }
    bounds = {family: requests[family] / (rates[family] / 60) for family in families}
    baseline = max(bounds.values())
    listings = [listing for family_listings, _ in families.values() for listing in family_listings]
    per_family: dict[str, Any] = {}
    for family, (_, family_wall) in families.items():
        name = family.value
        per_family[f"{name}_rate_per_minute"] = rates[family]
        per_family[f"{name}_requests"] = requests[family]
        per_family[f"{name}_wall_s"] = round(family_wall, 3)
        per_family[f"ratio_{name}"] = round(family_wall / bounds[family], 4)
    roster = families[ApiFamily.ADMIN][0][0]
    usage, limits = families[ApiFamily.ANALYTICS][0][0], families[ApiFamily.SPEND_LIMITS][0][0]
    return {
        "users": users,
        "completed": all(listing.completed for listing in listings),
        "roster_rows": len(roster.rows),
        "analytics_rows": len(usage.rows),
        "spend_limit_rows": len(limits.rows),
        "rows_per_endpoint": _per_endpoint(listings, lambda listing: len(listing.rows)),
        "requests_per_endpoint": _per_endpoint(listings, lambda listing: listing.requests),
        **per_family,
        "requests": sum(requests.values()),
        "rate_limited_429": sum(listing.rate_limited for listing in listings),
        "wall_s": round(wall, 3),
        "baseline": "max over families of requests / allowed rate (seconds)",
        "baseline_s": round(baseline, 3),
        "ratio": round(wall / baseline, 4),
        "simulator_rss_mb": rss,
        "simulator_roster_page_ms": round(
            stats["handler_ms:users"] / stats["handler_calls:users"], 2
        ),
        "simulator_analytics_page_ms": round(
            stats["handler_ms:analytics_users"] / stats["handler_calls:analytics_users"], 2
        ),
        "simulator_429": stats.get("status:429", 0),
    }


def _per_endpoint(
    listings: list[Listing[Any]], count: Callable[[Listing[Any]], int]
) -> dict[str, int]:
    """``count`` summed per endpoint path (the members of every group add up under one)."""
    counts: dict[str, int] = {}
    for listing in listings:
        counts[listing.endpoint] = counts.get(listing.endpoint, 0) + count(listing)
    return counts


@benchmark("sync")
def sync(
    users: int = 100_000,
    seed: int = 1,
    scale: float = 3.0,
    groups: int = 20,
    admin_rate: float | None = None,
    analytics_rate: float | None = None,
    spend_limits_rate: float | None = None,
) -> dict[str, Any]:
    """A first collection's listings per family, concurrently; see the module docstring."""
    chosen = {
        ApiFamily.ADMIN: admin_rate,
        ApiFamily.ANALYTICS: analytics_rate,
        ApiFamily.SPEND_LIMITS: spend_limits_rate,
    }
    rates = {
        family: rate if rate is not None else DEFAULT_RATES[family] * scale
        for family, rate in chosen.items()
    }
    return asyncio.run(_run(users, seed, groups, rates))
