"""``claude-connector demo`` as a user runs it: a subprocess with its own broker and ports.

Each run gets its own ``CLAUDE_CONNECTOR_CACHE`` (``KAFKA_HOME`` points at the jars the session
broker already fetched), so the test can tell that nothing the demo started is left: no process
that mentions its cache dir, no bound port, no run dir. The session broker must not notice.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from streams.config import Settings
from streams.localkafka import KAFKA_VERSION, port_in_use

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


class Demo:
    """A ``python -m streams demo`` child whose output lines arrive on a queue."""

    def __init__(self, cache: Path, *args: str) -> None:
        env = {**os.environ, "CLAUDE_CONNECTOR_CACHE": str(cache), "PYTHONUNBUFFERED": "1"}
        jars = Settings.load().cache_dir / f"kafka-{KAFKA_VERSION}"
        if (jars / "libs").is_dir():
            env["KAFKA_HOME"] = str(jars)
        self.cache = cache
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streams", "demo", *args],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = 180.0) -> re.Match[str]:
        """The first output line (from now on) matching ``pattern``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if match := re.search(pattern, line):
                return match
        raise AssertionError(f"no line matched {pattern!r}; output:\n" + "\n".join(self.lines))

    def finish(self, timeout: float = 120.0) -> int:
        """Wait for the exit status, collecting the rest of the output; a demo still running
        after ``timeout`` is killed, and the error shows what it said until then."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            self._drain()
            raise AssertionError(
                f"the demo did not exit within {timeout:.0f}s; output:\n{self.output}"
            ) from None
        self._drain()
        return code

    def _drain(self) -> None:
        while (line := self._queue.get(timeout=10)) is not None:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def leftovers(self) -> list[str]:
        """Processes whose command line or environment names this demo's cache dir."""
        marker = str(self.cache).encode()
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == os.getpid():
                continue
            try:
                command = (proc / "cmdline").read_bytes()
                mentions = marker in command or marker in (proc / "environ").read_bytes()
                zombie = (proc / "stat").read_text().split(") ", 1)[1].startswith("Z")
            except OSError:
                continue
            if mentions and not zombie:
                found.append(command.replace(b"\0", b" ").decode())
        return found


def ports_of(output: str) -> list[int]:
    """Every port the demo announced: broker, simulator, web views."""
    return [int(port) for port in re.findall(r"127\.0\.0\.1:(\d+)", output)]


async def broker_answers(bootstrap: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return isinstance(await admin.list_topics(), list)
    finally:
        await admin.close()


async def test_demo_runs_for_its_duration_and_leaves_nothing_behind(
    tmp_path: Path, kafka_bootstrap: str
):
    demo = Demo(tmp_path / "cache", "--users", "small", "--duration", "6")
    try:
        url = demo.wait_for(r"open (http://127\.0\.0\.1:\d+)/ in a browser").group(1)
        answered = {}
        with httpx.Client(timeout=10) as http:
            for path in ("/health", "/alerts?state=open", "/users?limit=5", "/status", "/"):
                answered[path] = http.get(url + path)
        assert {path: r.status_code for path, r in answered.items()} == dict.fromkeys(answered, 200)
        assert answered["/alerts?state=open"].json()["data"], "the simulated org has shadow IT"
        assert "<title>Claude connector</title>" in answered["/"].text
        demo.wait_for(r"open alerts [1-9]\d*: ")
        code = demo.finish()
    finally:
        if demo.process.poll() is None:
            demo.process.kill()
            demo.process.wait()
    output = demo.output
    assert code == 0, output
    assert "collecting: roster: 200 members" in output
    assert "stopped: every process ended, every port released" in output
    assert re.search(r"members 20\d   adoption \d+%   idle seats \d+   connector", output)
    assert demo.leftovers() == []
    assert [port for port in ports_of(output) if port_in_use("127.0.0.1", port)] == []
    assert list((tmp_path / "cache" / "demo").glob("run-*")) == []
    assert await broker_answers(kafka_bootstrap), "the session broker was not disturbed"


STOP_BOUND_SECONDS = 240.0


def test_sigterm_during_start_up_stops_every_part(tmp_path: Path, kafka_bootstrap: str):
    demo = Demo(tmp_path / "cache", "--users", "small")
    try:
        demo.wait_for(r"worker: starting \(pid \d+")
        demo.process.send_signal(signal.SIGTERM)
        # Each part's stop is bounded, and the bounds add up to about two minutes: the
        # poller's producer (its 40 s request timeout), the worker (30 s, then SIGKILL) and
        # the broker (30 s, then SIGKILL and 10 s); a loaded machine can come near that.
        code = demo.finish(timeout=STOP_BOUND_SECONDS)
    finally:
        if demo.process.poll() is None:
            demo.process.kill()
            demo.process.wait()
    assert code == 0, demo.output
    assert "SIGTERM: stopping" in demo.output
    assert demo.leftovers() == []
    assert [port for port in ports_of(demo.output) if port_in_use("127.0.0.1", port)] == []
    assert list((tmp_path / "cache" / "demo").glob("run-*")) == []
