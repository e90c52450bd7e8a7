"""The connector over SASL_SSL: a broker started by ``kafka start --security sasl_ssl``.

Its files and its JVM's environment stay private; ``tail`` reads over SASL_SSL, and a wrong
password, an untrusted certificate or the wrong protocol each end it with one line that says
which. The poller and the worker run end to end over the same broker in the fault suite
(``tests/faults/test_sasl_ssl.py``).
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from streams.config import Settings
from streams.directory import load_directory
from streams.events.records import DirectoryRecord, DirectoryStatus
from streams.events.topics import DIRECTORY
from streams.kafkaio import ensure_topics
from streams.kafkaio.security import KafkaSecurity
from tests.fixtures.kafka import PLANTED_SECRETS, SecuredBroker

pytestmark = pytest.mark.kafka


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


async def test_tail_reads_over_sasl_ssl_and_says_why_it_cannot(secured_kafka: SecuredBroker):
    settings = Settings.load(secured_kafka.settings)
    security = KafkaSecurity.from_settings(settings)
    prefix = f"sasl{uuid.uuid4().hex[:8]}."
    await ensure_topics(secured_kafka.bootstrap, prefix, 1, security=security)
    record = DirectoryRecord(
        org_id="org_1", email="a@acme.com", employee_id=None, name=None,
        status=DirectoryStatus.ACTIVE, source="test", updated_at=datetime.now(UTC),
    )
    topic = DIRECTORY.name(prefix)
    await load_directory(secured_kafka.bootstrap, topic, [record], security=security)
    env = {**secured_kafka.settings, "TOPIC_PREFIX": prefix}
    code, out, err = await _cli("tail", "directory", env=env)
    assert code == 0, err
    (line,) = out.splitlines()
    assert orjson.loads(line)["value"]["email"] == "a@acme.com"

    wrong_password = "not-the-password-" + uuid.uuid4().hex
    cases = {
        "SASL authentication as 'connector' failed": {"KAFKA_SASL_PASSWORD": wrong_password},
        "is not trusted": {"KAFKA_SSL_CAFILE": ""},
        "does KAFKA_SECURITY_PROTOCOL=PLAINTEXT match": {
            "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT", "KAFKA_SSL_CAFILE": ""
        },
    }
    for expected, change in cases.items():
        code, out, err = await _cli("tail", "directory", env={**env, **change})
        assert code == 1, (expected, out, err)
        assert len(err.strip().splitlines()) == 1 and expected in err, err
        assert "Traceback" not in err
        for secret in (wrong_password, secured_kafka.settings["KAFKA_SASL_PASSWORD"]):
            assert secret not in out + err
