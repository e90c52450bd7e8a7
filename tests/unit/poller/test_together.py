"""The poll cycle reads the API families concurrently: a failure stops every family's read."""

from __future__ import annotations

import asyncio

import pytest

from streams.errors import ApiError
from streams.poller.cycle import together


async def test_families_run_at_once_and_the_first_failure_cancels_the_others():
    started: list[str] = []
    cancelled = asyncio.Event()

    async def slow() -> None:
        started.append("slow")
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def failing() -> None:
        started.append("failing")
        await asyncio.sleep(0.01)
        raise ApiError("refused")

    with pytest.raises(ApiError, match="refused"):
        await asyncio.wait_for(together(slow(), failing()), 5)
    assert started == ["slow", "failing"] and cancelled.is_set()


async def test_together_waits_for_every_step():
    done: list[int] = []

    async def step(number: int, delay: float) -> None:
        await asyncio.sleep(delay)
        done.append(number)

    await together(step(1, 0.05), step(2, 0.01))
    assert sorted(done) == [1, 2]
