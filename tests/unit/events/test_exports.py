"""The package roots export what their ``__all__`` lists."""

from __future__ import annotations

import pytest

import streams.events
import streams.poller


@pytest.mark.parametrize("package", [streams.events, streams.poller], ids=lambda p: p.__name__)
def test_all_names_exist(package: object) -> None:
    names = package.__all__  # type: ignore[attr-defined]
    assert len(set(names)) == len(names)
    for name in names:
        assert getattr(package, name) is not None
