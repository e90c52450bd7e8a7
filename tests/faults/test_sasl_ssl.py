"""Scenario: the whole pipeline over SASL_SSL, after refused credentials and an untrusted CA.

The broker has only a SASL_SSL listener (``kafka start --security sasl_ssl``). First the
poller is run with a wrong password and then without the broker's CA: each run must end with
one line saying which, publishing nothing. Then the poller (the CLI, two cycles with churn in
between) and a worker run over SASL_SSL: the topics and the worker's users equal the
simulator's truth, and neither the SASL password nor any canary secret shows anywhere.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

import pytest

from streams.config import Settings
from streams.events.topics import TOPICS
from streams.kafkaio.security import KafkaSecurity
from tests.faults.audit import audit_usage, audit_user_events
from tests.faults.harness import crashes, fault_worker, worker_logs
from tests.faults.ledger import SECRETS, leaks_in, topic_leaks
from tests.fixtures.kafka import SecuredBroker
from tests.fixtures.poller import poller_env, truth_roster
from tests.fixtures.topics import read_topic
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.kafka

WINDOW_DAYS = 2
CHURN = {"hours": 6, "add": 4, "remove": 3, "role_changes": 2}


async def poll_once(env: dict[str, str]) -> tuple[int, str]:
    """``claude-connector poll --once``: its exit code and everything it printed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streams", "poll", "--once",
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 180)
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


async def test_pipeline_over_sasl_ssl(secured_kafka: SecuredBroker, canary_sim, tmp_path, ledger):
    sim = await canary_sim(users=50, seed=31)
    env = {
        **poller_env(sim, secured_kafka.bootstrap, connector="secured", window_days=WINDOW_DAYS),
        **secured_kafka.settings,
    }
    settings = Settings.load(env)
    security = KafkaSecurity.from_settings(settings)
    password = secured_kafka.settings["KAFKA_SASL_PASSWORD"]
    wrong = f"wrong-{uuid.uuid4().hex}"
    secrets = (*SECRETS, password, wrong)
    outputs = []
    refused = 0
    for change, reason in (
        ({"KAFKA_SASL_PASSWORD": wrong}, "SASL authentication as 'connector' failed"),
        ({"KAFKA_SSL_CAFILE": ""}, "is not trusted"),
    ):
        code, output = await poll_once({**env, **change})
        outputs.append(output)
        refused += code == 1 and output.strip().count("\n") == 0 and reason in output

    worker = fault_worker(secured_kafka.bootstrap, settings.topic_prefix,
                          f"sasl-{uuid.uuid4().hex[:6]}", tmp_path / "w",
                          **secured_kafka.settings)
    try:
        await worker.wait_ready()
        churns = []
        for cycle in range(2):
            if cycle:
                churns.append(await sim.advance(**CHURN, seed=5))
            code, output = await poll_once(env)
            outputs.append(output)
            assert code == 0, output
        truth = await sim.truth()
        want = truth_roster(truth)

        async def worker_caught_up() -> bool:
            users = (await worker.get("/users", limit="10000")).json()["data"]
            return {user["id"]: (user["email"], user["role"]) for user in users} == want

        await eventually(worker_caught_up, timeout=90)
        events = await read_topic(secured_kafka.bootstrap, settings.topic("user-events"),
                                  security=security)
        findings = audit_user_events(events, truth, churns)
        findings += audit_usage(
            await read_topic(secured_kafka.bootstrap, settings.topic("usage-deltas"),
                             security=security),
            truth, WINDOW_DAYS,
        )
        leaks = leaks_in([*outputs, *worker_logs(worker)], secrets) + await topic_leaks(
            secured_kafka.bootstrap, [spec.name(settings.topic_prefix) for spec in TOPICS],
            secrets, security=security,
        )
        ledger.add("sasl_ssl: pipeline after a wrong password and an unknown CA",
                   cycles=2, faults_injected=2, leaks=leaks, **findings.figures())
        assert refused == 2, outputs[:2]
        assert not findings, findings
        assert leaks == 0
        assert not crashes(worker), crashes(worker)
    finally:
        worker.stop()
