"""Rate budgets: one request budget per organisation and API family, shared by the process.

The Analytics API allows 60 requests per minute per organisation across all keys and
endpoints; the Admin API 100; the Compliance API 600 per parent organisation, shared by
every key and every ``/v1/compliance/*`` endpoint. A budget paces every request of one
(organisation, family) so a normal run never receives a 429. Two rules must both allow a start:

1. **Spacing.** Starts are at least ``60 / rate`` seconds apart, with up to ``burst`` starts
   back to back (a GCRA token bucket; ``burst=1`` is plain pacing, safe even where the API
   enforces "60/min" as "1/s").
2. **Window.** A request may start only while fewer than ``rate`` requests are in flight or
   completed within the last 60 s. A request reaches the server no later than its response
   comes back, so the server can never see more than ``rate`` arrivals in any 60 s window,
   whatever the network jitter.

A 429 pauses the whole budget (``pause``) for the ``retry-after`` the server named, so every
caller sharing the budget backs off together.

**The budget belongs to the organisation**, not to a connector: a client first draws on the
budget of its key (so two connectors holding one key share it from the first request), and
once an answer names the organisation (the ``anthropic-organization-id`` header, or ``/me``)
the key is ``bind``-ed to that organisation's budget, which every other key of the same
organisation in this process shares. Across processes nothing in memory can be shared: each
process paces at its configured rate (give each process its share of the organisation's
limit), and the organisation's own feedback -- a 429 with ``retry-after``, or
``anthropic-ratelimit-requests-remaining: 0`` with a ``-reset`` time -- pauses every caller of
the budget until the organisation has room again. Budgets hold no asyncio primitives: decisions
are synchronous, so one registry can serve several event loops (tests, CLI runs).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streams.config import Settings

WINDOW_SECONDS = 60.0
_IN_FLIGHT_POLL = 0.01


class ApiFamily(StrEnum):
    """Which rate limit (and which key) an endpoint belongs to."""

    ANALYTICS = "analytics"
    ADMIN = "admin"
    COMPLIANCE = "compliance"
    SPEND_LIMITS = "spend_limits"
    """Spend limits: their own 60 requests per minute per organisation, read with the admin
    (Enterprise ``read:spend_limits``) key."""


DEFAULT_RATES: Mapping[ApiFamily, float] = {
    ApiFamily.ANALYTICS: 60.0,
    ApiFamily.ADMIN: 100.0,
    ApiFamily.COMPLIANCE: 600.0,
    ApiFamily.SPEND_LIMITS: 60.0,
}


class RateBudget:
    """Paces the requests of one organisation and API family (see the module docstring)."""

    def __init__(
        self,
        per_minute: float,
        *,
        burst: int = 1,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be > 0 and burst >= 1")
        self.per_minute = per_minute
        self.interval = WINDOW_SECONDS / per_minute
        self.capacity = max(1, math.floor(per_minute * window / WINDOW_SECONDS))
        self.burst = burst
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._tat = -math.inf
        self._paused_until = -math.inf
        self._completed: deque[float] = deque()
        self._in_flight = 0

    def delay(self) -> float:
        """Seconds until a request may start (0 means now). Pure apart from reading the clock."""
        now = self._clock()
        while self._completed and self._completed[0] <= now - self.window:
            self._completed.popleft()
        waits = [self._paused_until - now, self._tat - (self.burst - 1) * self.interval - now]
        if len(self._completed) + self._in_flight >= self.capacity:
            waits.append(
                self._completed[0] + self.window - now if self._completed else _IN_FLIGHT_POLL
            )
        return max(0.0, *waits)

    async def acquire(self) -> None:
        """Wait for a start permit; the caller must ``release()`` when the response is in."""
        while (wait := self.delay()) > 0:
            await self._sleep(max(wait, 0.001))
        now = self._clock()
        self._tat = max(self._tat, now) + self.interval
        self._in_flight += 1

    def release(self) -> None:
        """Record that a started request has completed (answered, failed or timed out)."""
        self._in_flight = max(0, self._in_flight - 1)
        self._completed.append(self._clock())

    def pause(self, seconds: float) -> None:
        """Let nobody start for ``seconds`` (a 429's ``retry-after`` or a backoff)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)


class RateBudgets:
    """The registry of budgets: one per (organisation, family), created on first use.

    ``window`` shortens the accounting window (rates stay per minute) so tests can exercise
    the window rule against a simulator with the same ``rate_window`` in seconds, not minutes.
    """

    def __init__(
        self,
        rates: Mapping[ApiFamily, float] | None = None,
        *,
        burst: int = 1,
        window: float = WINDOW_SECONDS,
    ) -> None:
        self.rates = {**DEFAULT_RATES, **(rates or {})}
        self.burst = burst
        self.window = window
        self._budgets: dict[tuple[str, ApiFamily], RateBudget] = {}
        self._organisations: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> RateBudgets:
        """Budgets at the configured ``ANALYTICS_RATE_PER_MINUTE`` / ``ADMIN_RATE_PER_MINUTE``."""
        return cls(
            {
                ApiFamily.ANALYTICS: settings.analytics_rate_per_minute,
                ApiFamily.ADMIN: settings.admin_rate_per_minute,
                ApiFamily.COMPLIANCE: settings.compliance_rate_per_minute,
                ApiFamily.SPEND_LIMITS: settings.spend_limits_rate_per_minute,
            }
        )

    def budget(self, identity: str, family: ApiFamily) -> RateBudget:
        """The budget every caller in this process shares for ``identity`` (a key's
        fingerprint, or ``org:<id>``) and ``family``; a bound key draws on its organisation's."""
        key = (self._organisations.get(identity, identity), family)
        if key not in self._budgets:
            self._budgets[key] = RateBudget(
                self.rates[family], burst=self.burst, window=self.window
            )
        return self._budgets[key]

    def bind(self, identity: str, org_id: str) -> None:
        """From now on ``identity`` draws on organisation ``org_id``'s budgets.

        The first key bound brings its budget (and the history in it) to the organisation; a
        later key of the same organisation joins the budget already there.
        """
        organisation = f"org:{org_id}"
        if self._organisations.get(identity) == organisation:
            return
        for family in ApiFamily:
            own = self._budgets.get((identity, family))
            if own is not None:
                self._budgets.setdefault((organisation, family), own)
        self._organisations[identity] = organisation


_SHARED: RateBudgets | None = None


def shared_budgets() -> RateBudgets:
    """The process-wide registry at the documented default rates."""
    global _SHARED
    if _SHARED is None:
        _SHARED = RateBudgets()
    return _SHARED
