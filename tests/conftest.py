"""Test-wide setup: shared fixture plugins and an environment free of the user's settings."""

from __future__ import annotations

import pytest

from streams.config import SETTINGS

pytest_plugins = [
    "tests.fixtures.kafka",
    "tests.fixtures.simulator",
    "tests.fixtures.webhook",
    "tests.faults.summary",
]


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's own configuration variables."""
    for spec in SETTINGS:
        monkeypatch.delenv(spec.env, raising=False)
