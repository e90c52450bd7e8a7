"""Shared pieces of the fault scenarios: waiting for a condition; workers, their logs, crashes
and memory.

``WORKER_ENV`` is what every fault-suite worker runs with: the canary API keys in its
environment (a worker never needs them, so they must never surface), a canary bearer token and
a canary webhook secret.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from streams.worker_process import WorkerProcess
from tests.faults.ledger import (
    CANARY_ADMIN_KEY,
    CANARY_ANALYTICS_KEY,
    CANARY_WEB_TOKEN,
    CANARY_WEBHOOK_SECRET,
)
from tests.fixtures.worker import start_worker

WORKER_ENV = {
    "CORPORATE_DOMAINS": "acme.com",
    "CLAUDE_ANALYTICS_API_KEY": CANARY_ANALYTICS_KEY,
    "CLAUDE_ADMIN_API_KEY": CANARY_ADMIN_KEY,
    "ALERT_WEBHOOK_SECRET": CANARY_WEBHOOK_SECRET,
}


async def settle(problems: Callable[[], Awaitable[list[str]]], timeout: float) -> list[str]:
    """Poll ``problems`` until it finds none or ``timeout`` passes; its last findings."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    found = await problems()
    while found and loop.time() < deadline:
        await asyncio.sleep(0.5)
        found = await problems()
    return found


def fault_worker(
    bootstrap: str, prefix: str, app_id: str, workdir: Path, **env: str
) -> WorkerProcess:
    """A started worker with the canary secrets (``env`` adds settings)."""
    return start_worker(
        bootstrap, prefix, app_id, workdir, token=CANARY_WEB_TOKEN, env={**WORKER_ENV, **env}
    )


def worker_logs(process: WorkerProcess) -> list[str]:
    """The logs of every start of ``process``."""
    return [path.read_text(errors="replace") for path in sorted(process.log_dir.glob("*.log"))]


def crashes(process: WorkerProcess) -> list[str]:
    """Log lines of agents that crashed (Faust restarts them, but their batch is gone) and of
    batch handlers that failed (the worker stops)."""
    return [line for log in worker_logs(process) for line in log.splitlines()
            if "Crashed reason=" in line or "a batch handler failed" in line]


def rss_mib(process: WorkerProcess) -> float:
    """The resident memory of the worker process, in MiB."""
    assert process.process is not None
    status = Path(f"/proc/{process.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024
