"""Garbage collection for a process whose heap is mostly long-lived rows.

CPython's cycle collector scans every tracked object of the oldest generation in a full
collection, and runs one each time that generation has grown by a quarter. A worker catching
up on a backlog builds millions of table rows (frozen dataclasses, dicts and tuples, freed by
reference counting: they hold no cycles), so full collections came ever more often over an
ever larger heap: a quarter of a worker's CPU at 20,000 members, measured.

``SettledHeap.settle()``, called once a unit of work is done (a batch written), moves every
object alive then into the permanent generation (``gc.freeze``): later collections scan only
what was made since. Cyclic garbage that was frozen is not found there, so every
``full_every_s`` seconds a settle unfreezes and runs one full collection first.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from time import monotonic

FULL_EVERY_SECONDS = 600.0


class SettledHeap:
    """Freezes the heap after each unit of work; a full collection every ``full_every_s``."""

    def __init__(
        self, full_every_s: float = FULL_EVERY_SECONDS, clock: Callable[[], float] = monotonic
    ) -> None:
        self.full_every_s = full_every_s
        self._clock = clock
        self._full_at = clock()
        self.full_collections = 0

    def settle(self) -> None:
        """Freeze what is alive now (after a full collection once one is due)."""
        now = self._clock()
        if now - self._full_at >= self.full_every_s:
            gc.unfreeze()
            gc.collect()
            self._full_at = now
            self.full_collections += 1
        gc.freeze()
