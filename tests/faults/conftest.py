"""Fixtures of the fault suite: the ledger, simulators holding the canary keys, a worker the
hostile-input, secrets and views scenarios share (the table is ``tests.faults.summary``)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from streams.kafkaio import ensure_topics
from streams.simulator import RunningSimulator
from streams.worker_process import WorkerProcess
from tests.faults.harness import fault_worker
from tests.faults.ledger import CANARY_ADMIN_KEY, CANARY_ANALYTICS_KEY, LEDGER, Ledger
from tests.fixtures.simulator import SimFactory

CanarySim = Callable[..., Awaitable[RunningSimulator]]


@pytest.fixture
def ledger() -> Ledger:
    return LEDGER


@pytest.fixture
def canary_sim(sim_factory: SimFactory) -> CanarySim:
    """``sim_factory`` whose simulators accept (only) the canary keys."""

    async def start(**overrides: Any) -> RunningSimulator:
        overrides.setdefault("analytics_rate", 6000.0)
        overrides.setdefault("admin_rate", 6000.0)
        return await sim_factory(
            analytics_key=CANARY_ANALYTICS_KEY, admin_key=CANARY_ADMIN_KEY, **overrides
        )

    return start


@dataclass(frozen=True)
class SharedWorker:
    """One worker on its own topic prefix for the scenarios that only feed it input."""

    process: WorkerProcess
    bootstrap: str
    prefix: str


@pytest.fixture(scope="package")
def shared_worker(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SharedWorker]:
    prefix = f"fw{uuid.uuid4().hex[:8]}."
    workdir = tmp_path_factory.mktemp("faults-worker")

    async def start() -> WorkerProcess:
        await ensure_topics(kafka_bootstrap, prefix, 2)
        process = fault_worker(kafka_bootstrap, prefix, f"faults-{uuid.uuid4().hex[:8]}", workdir)
        await process.wait_ready()
        return process

    process = asyncio.run(start())
    try:
        yield SharedWorker(process, kafka_bootstrap, prefix)
    finally:
        process.stop()
