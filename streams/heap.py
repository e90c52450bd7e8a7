"""Garbage collection for a process whose heap is mostly long-lived rows.

CPython's cycle collector scans every tracked object of the oldest generation in a full
collection, and runs one each time that generation has grown by a quarter. A worker catching
up on a backlog builds millions of table rows (frozen dataclasses, dicts and tuples, freed by
reference counting: they hold no cycles), so full collections came ever more often over an
ever larger heap, and the young collections scanned every new row again: 7.4 s of
collections while one worker applied a 20,000-member first collection in about 20 s of CPU.

``SettledHeap.working()`` wraps one unit of work (a batch): the collector is off while it
runs, and once it is done every object alive then moves to the permanent generation
(``gc.freeze``), so later collections scan only what was made since. Cyclic garbage made
meanwhile is not found there, so every ``full_every_s`` seconds one full collection runs
first, over everything.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from time import monotonic

FULL_EVERY_SECONDS = 600.0


class SettledHeap:
    """Units of work without collections, the heap frozen after each; a full collection
    every ``full_every_s`` seconds."""

    def __init__(
        self, full_every_s: float = FULL_EVERY_SECONDS, clock: Callable[[], float] = monotonic
    ) -> None:
        self.full_every_s = full_every_s
        self._clock = clock
        self._full_at = clock()
        self.full_collections = 0

    @contextmanager
    def working(self) -> Iterator[None]:
        """No collection inside; the heap settled after (also when the work raised)."""
        enabled = gc.isenabled()
        gc.disable()
        try:
            yield
        finally:
            if enabled:
                gc.enable()
            self.settle()

    def settle(self) -> None:
        """Freeze what is alive now (after a full collection once one is due)."""
        now = self._clock()
        if now - self._full_at >= self.full_every_s:
            gc.unfreeze()
            gc.collect()
            self._full_at = now
            self.full_collections += 1
        gc.freeze()
