"""Benchmarks: ``claude-connector bench NAME --json``.

Each benchmark module registers one function with ``@benchmark("name")``. The function takes
the keyword options given on the command line and returns a dict of measured figures that
includes ``ratio`` (the figure against the named baseline run in the same process) and
``baseline`` (what the ratio compares against).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

BenchFunction = Callable[..., dict[str, Any]]

_REGISTRY: dict[str, BenchFunction] = {}

# Modules that define benchmarks; imported on first use so the CLI starts fast.
BENCH_MODULES: tuple[str, ...] = (
    "streams.bench.alerts",
    "streams.bench.codec",
    "streams.bench.detect",
    "streams.bench.diff",
    "streams.bench.faults",
    "streams.bench.pipeline",
    "streams.bench.scale",
    "streams.bench.sync",
)


def benchmark(name: str) -> Callable[[BenchFunction], BenchFunction]:
    """Register ``function`` as the benchmark called ``name``."""

    def register(function: BenchFunction) -> BenchFunction:
        _REGISTRY[name] = function
        return function

    return register


def registry() -> dict[str, BenchFunction]:
    """All benchmarks by name."""
    for module in BENCH_MODULES:
        importlib.import_module(module)
    return dict(sorted(_REGISTRY.items()))
