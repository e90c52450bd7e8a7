"""``claude-connector kafka start|status|stop`` twice in a row, through the real command line."""

from __future__ import annotations

import os
import time

import pytest

from streams.config import Settings
from streams.localkafka import free_port
from tests.fixtures.kafka import kafka_cli

pytestmark = pytest.mark.kafka


def test_start_status_stop_twice(tmp_path):
    env = {**os.environ, "CLAUDE_CONNECTOR_CACHE": str(Settings.load().cache_dir)}
    port = free_port(span=2)  # the controller takes the next port
    where = ["--data-dir", str(tmp_path / "broker"), "--port", str(port)]
    timings = []
    for _ in range(2):
        began = time.monotonic()
        started = kafka_cli("start", *where, env=env)
        timings.append(time.monotonic() - began)
        assert started.returncode == 0, started.stderr
        assert started.stdout.strip() == f"127.0.0.1:{port}"
        status = kafka_cli("status", *where, env=env)
        assert status.returncode == 0 and f"bootstrap=127.0.0.1:{port}" in status.stdout
        stopped = kafka_cli("stop", *where, env=env)
        assert stopped.returncode == 0 and stopped.stdout.strip() == "stopped"
        after = kafka_cli("status", *where, env=env)
        assert after.returncode == 1 and after.stdout.strip() == "not running"
    assert (tmp_path / "broker" / "kraft" / "meta.properties").exists()
    print(f"kafka start took {timings[0]:.1f}s then {timings[1]:.1f}s")
    assert timings[1] < 60
