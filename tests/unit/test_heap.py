"""``SettledHeap``: what is alive at a settle is out of the collector's way until a full
collection is due, and that collection finds the cycles that died meanwhile."""

from __future__ import annotations

import gc
import weakref

from streams.heap import SettledHeap


class Node:
    """An object in a reference cycle with itself (only the cycle collector frees it)."""

    def __init__(self) -> None:
        self.me = self


def test_a_settled_cycle_waits_for_the_next_full_collection() -> None:
    now = [0.0]
    heap = SettledHeap(full_every_s=60.0, clock=lambda: now[0])
    try:
        node = Node()
        alive = weakref.ref(node)
        heap.settle()
        assert gc.get_freeze_count() > 0
        del node
        gc.collect()
        assert alive() is not None, "a frozen cycle is not collected"
        now[0] = 59.0
        heap.settle()
        assert alive() is not None and heap.full_collections == 0
        now[0] = 60.0
        heap.settle()
        assert alive() is None and heap.full_collections == 1
        assert gc.get_freeze_count() > 0, "frozen again after the full collection"
    finally:
        gc.unfreeze()


def test_work_runs_without_collections_and_settles_even_when_it_raises() -> None:
    heap = SettledHeap()
    assert gc.isenabled()
    try:
        try:
            with heap.working():
                assert not gc.isenabled()
                node = Node()
                alive = weakref.ref(node)
                raise RuntimeError("the batch failed")
        except RuntimeError:
            pass
        assert gc.isenabled()
        del node
        gc.collect()
        assert alive() is not None, "settled after the work, though it raised"
    finally:
        gc.unfreeze()
        gc.collect()
