"""Rate budget arithmetic on a fake clock: spacing, the window rule, pauses, sharing."""

from __future__ import annotations

import itertools
import random
from collections import deque

import pytest

from streams.client import ApiFamily, RateBudget, RateBudgets
from streams.client.ratelimit import _IN_FLIGHT_POLL


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def budget(clock: FakeClock, per_minute: float, **options: object) -> RateBudget:
    return RateBudget(per_minute, clock=clock, sleep=clock.sleep, **options)  # type: ignore[arg-type]


async def test_requests_are_spaced_at_the_rate() -> None:
    clock = FakeClock()
    pacer = budget(clock, 60)
    starts = []
    for _ in range(5):
        await pacer.acquire()
        starts.append(clock.now)
        pacer.release()
    assert [round(b - a, 6) for a, b in itertools.pairwise(starts)] == [1.0] * 4


async def test_burst_allows_back_to_back_starts() -> None:
    clock = FakeClock()
    pacer = budget(clock, 60, burst=3)
    for _ in range(3):
        await pacer.acquire()
        pacer.release()
    assert clock.now == 1000.0
    await pacer.acquire()
    assert clock.now == pytest.approx(1001.0)


async def test_window_rule_counts_completions_not_starts() -> None:
    clock = FakeClock()
    pacer = budget(clock, 3, burst=3)
    for _ in range(3):
        await pacer.acquire()
        clock.now += 5  # each response takes 5 s
        pacer.release()
    first_completion = 1005.0
    await pacer.acquire()
    assert clock.now == pytest.approx(first_completion + 60)


async def test_in_flight_requests_hold_the_window() -> None:
    clock = FakeClock()
    pacer = budget(clock, 2, burst=4)  # burst above the rate: spacing never holds a start here
    await pacer.acquire()
    await pacer.acquire()
    assert clock.now == 1000.0
    # Two in flight, none completed: only the window rule waits (polling for a completion).
    assert pacer.delay() == pytest.approx(_IN_FLIGHT_POLL)
    clock.now += 5
    pacer.release()
    # One completed at 1005, one still in flight: the window is full until 1005 + 60.
    assert pacer.delay() == pytest.approx(60.0)


async def test_pause_stops_every_caller() -> None:
    clock = FakeClock()
    pacer = budget(clock, 6000)
    pacer.pause(7)
    await pacer.acquire()
    assert clock.now == pytest.approx(1007.0)


async def test_a_server_window_never_sees_more_than_the_rate() -> None:
    """Random latencies: arrivals (between start and completion) stay within the limit."""
    clock = FakeClock()
    rate = 10
    pacer = budget(clock, rate, burst=rate)
    rng = random.Random(4)
    arrivals: list[float] = []
    for _ in range(60):
        await pacer.acquire()
        start = clock.now
        latency = rng.uniform(0.0, 3.0)
        arrivals.append(start + rng.uniform(0, latency))
        clock.now += latency
        pacer.release()
    window: deque[float] = deque()
    for arrival in sorted(arrivals):
        window.append(arrival)
        while window[0] <= arrival - 60:
            window.popleft()
        assert len(window) <= rate


def test_registry_shares_one_budget_per_org_and_family() -> None:
    budgets = RateBudgets({ApiFamily.ANALYTICS: 30})
    first = budgets.budget("org-a", ApiFamily.ANALYTICS)
    assert budgets.budget("org-a", ApiFamily.ANALYTICS) is first
    assert budgets.budget("org-b", ApiFamily.ANALYTICS) is not first
    assert budgets.budget("org-a", ApiFamily.ADMIN) is not first
    assert first.interval == pytest.approx(2.0)
    assert budgets.budget("org-a", ApiFamily.ADMIN).capacity == 100


def test_rates_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RateBudget(0)
