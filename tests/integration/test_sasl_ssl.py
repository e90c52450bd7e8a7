"""The connector over SASL_SSL: a broker started by ``kafka start --security sasl_ssl``.

The poller (``poll --once``), ``tail`` and a worker run end to end against it; a wrong
password and an untrusted certificate each end a command with one line that says which.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
import uuid
from pathlib import Path

import orjson
import pytest

from tests.fixtures.kafka import PLANTED_SECRETS, SecuredBroker
from tests.fixtures.poller import poller_env, truth_roster
from tests.fixtures.worker import worker_process

pytestmark = pytest.mark.kafka

FAST = {"analytics_rate": 3000.0, "admin_rate": 3000.0}


async def _cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "streams",
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 180)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def test_broker_files_and_environment_are_private(secured_kafka: SecuredBroker):
    data_dir = secured_kafka.data_dir
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    for name in ("server.properties", "broker.log", "broker.out", "sasl.json", "broker.pid",
                 "tls/ca.pem", "tls/broker.pem"):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
    pid = orjson.loads((data_dir / "broker.pid").read_bytes())["pid"]
    environ = Path(f"/proc/{pid}/environ").read_bytes()
    for name, value in PLANTED_SECRETS.items():
        assert name.encode() not in environ and value.encode() not in environ, name
    password = secured_kafka.settings["KAFKA_SASL_PASSWORD"]
    assert password not in (data_dir / "broker.log").read_text()


async def test_poller_tail_and_worker_end_to_end(
    secured_kafka: SecuredBroker, sim_factory, tmp_path: Path
):
    sim = await sim_factory(users=25, seed=15, **FAST)
    env = {**poller_env(sim, secured_kafka.bootstrap), **secured_kafka.settings}
    code, out, err = await _cli("poll", "--once", env=env)
    assert code == 0, err
    truth = truth_roster(await sim.truth())

    code, out, err = await _cli("tail", "user-events", "--from-beginning", env=env)
    assert code == 0, err
    events = [orjson.loads(line)["value"] for line in out.splitlines()]
    assert {event["user_id"] for event in events} == set(truth)
    assert {event["op"] for event in events} == {"SNAPSHOT"}

    worker_env = {key: env[key] for key in secured_kafka.settings if key.startswith("KAFKA_")}
    worker = worker_process(
        secured_kafka.bootstrap, env["TOPIC_PREFIX"], f"sasl-{uuid.uuid4().hex[:6]}", tmp_path,
        env=worker_env,
    )
    worker.start()
    try:
        await worker.wait_ready()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 90
        while True:
            users = (await worker.get("/users", limit="1000")).json()
            if {user["id"] for user in users["data"]} == set(truth):
                break
            assert loop.time() < deadline, f"the worker's users: {users['total']} of {len(truth)}"
            await asyncio.sleep(0.5)
    finally:
        worker.stop()


@pytest.mark.parametrize("command", [["tail", "user-events"], ["poll", "--once"]])
async def test_wrong_password_or_untrusted_certificate_is_one_line(
    secured_kafka: SecuredBroker, sim_factory, command: list[str]
):
    sim = await sim_factory(users=3, seed=1, **FAST)
    env = {**poller_env(sim, secured_kafka.bootstrap), **secured_kafka.settings}
    wrong_password = "not-the-password-" + uuid.uuid4().hex
    cases = {
        "SASL authentication as 'connector' failed": {"KAFKA_SASL_PASSWORD": wrong_password},
        "is not trusted": {"KAFKA_SSL_CAFILE": ""},
    }
    for expected, change in cases.items():
        code, out, err = await _cli(*command, env={**env, **change})
        assert code == 1, (expected, out, err)
        assert len(err.strip().splitlines()) == 1 and expected in err, err
        assert "Traceback" not in err
        for secret in (wrong_password, secured_kafka.settings["KAFKA_SASL_PASSWORD"]):
            assert secret not in out + err
