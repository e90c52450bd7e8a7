"""``PollerRunner.cycle``: a cycle that cannot commit is logged, recovered and gives None."""

from __future__ import annotations

import logging

from aiokafka.errors import KafkaConnectionError

from streams.config import Settings
from streams.poller import loop
from streams.poller.loop import PollerRunner


class Poller:
    """Fails its first cycle with ``error``, then reports ``"report"``."""

    def __init__(self, error: Exception) -> None:
        self.errors = [error]
        self.asked: list[object] = []

    async def run_cycle(self, due=None):
        self.asked.append(due)
        if self.errors:
            raise self.errors.pop()
        return "report"


async def test_a_failed_commit_recovers_the_connector_and_the_next_cycle_runs(tmp_path, caplog):
    runner = PollerRunner(Settings.load({"CLAUDE_CONNECTOR_CACHE": str(tmp_path)}), quiet=True)
    poller = Poller(KafkaConnectionError("broker gone"))
    runner.pollers = {"acme": poller}
    recovered = []

    async def recover(name: str) -> None:
        recovered.append(name)

    runner.recover = recover
    with caplog.at_level(logging.ERROR, logger=loop.__name__):
        assert await runner.cycle("acme", {"ROSTER"}) is None
    assert recovered == ["acme"]
    (logged,) = [r for r in caplog.records if r.name == loop.__name__]
    assert logged.levelno == logging.ERROR
    assert logged.getMessage() == (
        "[acme] could not commit the cycle (KafkaConnectionError: broker gone); retrying in 0.0s"
    )
    assert await runner.cycle("acme") == "report"
    assert poller.asked == [{"ROSTER"}, None] and recovered == ["acme"]
