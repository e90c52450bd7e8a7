"""The org-wide request limits the simulator enforces: a sliding one-minute window per family.

Only admitted requests count. A refused request is told, in ``retry-after`` (whole seconds,
rounded up), when the oldest admitted request leaves the window.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class Decision:
    """Whether a request was admitted, and the headers that describe the budget."""

    admitted: bool
    limit: int
    remaining: int
    retry_after: int


class SlidingWindow:
    """At most ``per_minute`` admitted requests in any 60 s window (pro rata for shorter ones)."""

    def __init__(
        self,
        per_minute: float,
        *,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = max(1, math.floor(per_minute * window / WINDOW_SECONDS))
        self.window = window
        self._clock = clock
        self._arrivals: deque[float] = deque()

    def admit(self) -> Decision:
        now = self._clock()
        while self._arrivals and self._arrivals[0] <= now - self.window:
            self._arrivals.popleft()
        admitted = len(self._arrivals) < self.limit
        if admitted:
            self._arrivals.append(now)
        reset_in = self._arrivals[0] + self.window - now if self._arrivals else 0.0
        return Decision(
            admitted=admitted,
            limit=self.limit,
            remaining=self.limit - len(self._arrivals),
            retry_after=0 if admitted else max(1, math.ceil(reset_in)),
        )
