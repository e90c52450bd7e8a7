"""The public surfaces of ``streams.client`` and ``streams.simulator`` are sorted and complete."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("module_name", ["streams.client", "streams.simulator"])
def test_all_is_sorted_and_importable(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__all__ == sorted(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None
