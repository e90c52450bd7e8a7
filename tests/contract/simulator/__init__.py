"""Contract tests of the simulator: documented shapes, behaviour, and the SDK's models."""

from __future__ import annotations

from streams.simulator.routes import CONSOLE, ROUTES


def org_kind_for(path: str) -> str:
    """The simulator org kind that serves ``path`` (Console-only endpoints need ``console``)."""
    route = next(route for route in ROUTES if route.path == path)
    return "console" if route.kinds == CONSOLE else "enterprise"
