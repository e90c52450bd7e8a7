"""The agents' write buffer: reads fall through, the last write per key wins, flush writes."""

from __future__ import annotations

import pytest
from faust.streams import current_event

from streams.worker.batch import Overlay, _Cursor


class Event:
    """Stands in for a Faust event: the overlay only remembers it."""


class RecordingTable(dict):
    """A dict that records the current Faust event of every write."""

    def __init__(self, *args):
        super().__init__(*args)
        self.writes = []

    def __setitem__(self, key, value):
        self.writes.append((key, current_event()))
        super().__setitem__(key, value)


def test_overlay_buffers_until_flush_and_tags_writes_with_their_event():
    table = RecordingTable({"a": {"n": 1}, "b": {"n": 2}})
    cursor = _Cursor()
    overlay = Overlay(table, cursor)
    first, second = Event(), Event()
    cursor.event = first
    overlay["a"] = {"n": 10}
    overlay["c"] = {"n": 3}
    cursor.event = second
    overlay["a"] = {"n": 11}
    del overlay["b"]
    assert overlay["a"] == {"n": 11} and "b" not in overlay and sorted(overlay) == ["a", "c"]
    assert table == {"a": {"n": 1}, "b": {"n": 2}}, "nothing written before flush"
    with pytest.raises(KeyError):
        del overlay["missing"]
    overlay.flush()
    assert table == {"a": {"n": 11}, "c": {"n": 3}}
    assert table.writes == [("a", second), ("c", first)]
    assert current_event() is None
