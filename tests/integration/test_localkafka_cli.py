"""``claude-connector kafka start|status|stop`` twice in a row, through the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from streams.config import Settings
from streams.localkafka import free_port

pytestmark = pytest.mark.kafka


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams", "kafka", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_start_status_stop_twice(tmp_path):
    env = {**os.environ, "CLAUDE_CONNECTOR_CACHE": str(Settings.load().cache_dir)}
    port = free_port()
    where = ["--data-dir", str(tmp_path / "broker"), "--port", str(port)]
    timings = []
    for _ in range(2):
        began = time.monotonic()
        started = _cli("start", *where, env=env)
        timings.append(time.monotonic() - began)
        assert started.returncode == 0, started.stderr
        assert started.stdout.strip() == f"127.0.0.1:{port}"
        status = _cli("status", *where, env=env)
        assert status.returncode == 0 and f"bootstrap=127.0.0.1:{port}" in status.stdout
        stopped = _cli("stop", *where, env=env)
        assert stopped.returncode == 0 and stopped.stdout.strip() == "stopped"
        after = _cli("status", *where, env=env)
        assert after.returncode == 1 and after.stdout.strip() == "not running"
    assert (tmp_path / "broker" / "kraft" / "meta.properties").exists()
    print(f"kafka start took {timings[0]:.1f}s then {timings[1]:.1f}s")
    assert timings[1] < 60
