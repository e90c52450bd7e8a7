"""The public surfaces of ``streams.client`` and ``streams.simulator`` are sorted and complete."""

from __future__ import annotations

import importlib
import inspect

import pytest


@pytest.mark.parametrize("module_name", ["streams.client", "streams.simulator"])
def test_all_is_sorted_and_importable(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__all__ == sorted(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None


@pytest.mark.parametrize("module_name", ["streams.client.models", "streams.client.activities"])
def test_every_parsed_row_type_is_exported(module_name: str) -> None:
    import streams.client

    module = importlib.import_module(module_name)
    parsed = {
        name
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and value.__module__ == module_name
        and not name.startswith("_")
        and "from_api" in vars(value)
    }
    assert parsed, module_name
    assert parsed <= set(streams.client.__all__), parsed - set(streams.client.__all__)
