"""Run ``claude-connector worker`` as a child process and wait until its ``/health`` is ready.

Used by the pipeline benchmark, the tests and anything else that supervises a worker. The
child gets its configuration as environment variables (the same names as ``Settings``): that
is how a deployed worker is configured (containers), so the child goes through the same edge,
and no secret (API keys, SASL password, webhook secret) is written to a file for it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import httpx

from streams.localkafka import free_port

READY_TIMEOUT_SECONDS = 90.0
LOOPBACK = "127.0.0.1"
WILDCARD_HOSTS = {"0.0.0.0", "::"}


def worker_environment(
    bootstrap: str,
    prefix: str,
    app_id: str,
    cache_dir: Path,
    *,
    partitions: int = 2,
    token: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """This process's environment with the worker's settings on top."""
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "TOPIC_PREFIX": prefix,
        "TOPIC_PARTITIONS": str(partitions),
        "WORKER_APP_ID": app_id,
        "CLAUDE_CONNECTOR_CACHE": str(cache_dir),
        **(extra or {}),
    }
    if token:
        env["WEB_TOKEN"] = token
    return env


class WorkerProcess:
    """One ``python -m streams worker --web-port P`` child; restartable after ``kill``."""

    def __init__(
        self,
        env: Mapping[str, str],
        log_dir: Path,
        *,
        token: str | None = None,
        web_port: int | None = None,
        loglevel: str = "info",
    ) -> None:
        self.env = dict(env)
        self.log_dir = log_dir
        self.token = token
        self.web_port = web_port or free_port()
        self.loglevel = loglevel
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        """Where the child's views answer: its ``WEB_HOST`` (this host for a wildcard)."""
        host = self.env.get("WEB_HOST", "").strip() or LOOPBACK
        if host in WILDCARD_HOSTS:
            host = LOOPBACK
        return f"http://[{host}]:{self.web_port}" if ":" in host else f"http://{host}:{self.web_port}"

    @property
    def log_path(self) -> Path:
        """The log of the current (latest) start."""
        return self.log_dir / f"worker-{self.web_port}-{self.starts}.log"

    def start(self) -> None:
        """Start the child (again, after ``kill`` or ``stop``)."""
        self.starts += 1
        self.log_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "streams",
            "worker",
            "--web-port",
            str(self.web_port),
            "-l",
            self.loglevel,
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.log_dir
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, size: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-size:] if self.log_path.exists() else ""

    async def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Wait until ``/health`` answers 200; ``RuntimeError`` with the log tail otherwise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while loop.time() < deadline:
                if not self.alive():
                    raise RuntimeError(f"worker exited:\n{self.log_tail()}")
                try:
                    if (await client.get(f"{self.url}/health")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"worker not ready within {timeout:.0f}s:\n{self.log_tail()}")

    async def get(
        self, path: str, *, token: str | None = None, timeout: float = 10.0, **params: str
    ) -> httpx.Response:
        """GET a view, with the bearer token (``token`` or the worker's own)."""
        bearer = token or self.token
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        async with httpx.AsyncClient(timeout=timeout) as client:
            return await client.get(f"{self.url}{path}", params=params, headers=headers)

    async def holds_members(self, members: int) -> bool:
        """Whether ``/users`` is complete (every partition answered) with ``members`` members;
        False while the worker does not answer."""
        try:
            body = (await self.get("/users", limit="1")).json()
        except (httpx.HTTPError, ValueError):
            return False
        return bool(body.get("complete")) and body.get("total") == members

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final commit."""
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout``."""
        if not self.alive():
            return
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
