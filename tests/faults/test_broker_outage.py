"""Scenario 3: the broker goes away in the middle of a poll cycle and of a worker run.

A broker of its own (not the session's) serves a long-running poller (the CLI) and a worker.
While a poll cycle is fetching (the simulator answers slowly) the broker is stopped, the
organisation changes while it is down, and the broker is started again from the same data
directory. The outage outlasts the Kafka clients' request timeout and the worker's group
session. Expected: both processes stay up; the poller says clearly that its commit waits for
Kafka, and when it went through; the Kafka clients' connection errors are rate-limited so
those lines stay readable; afterwards the topics and the worker's tables equal the
simulator's truth: nothing lost, nothing doubled, nobody falsely removed.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from streams.config import Settings
from streams.events.topics import TOPICS
from streams.localkafka import LocalKafka, free_port
from tests.faults.audit import audit_usage, audit_user_events
from tests.faults.harness import crashes, fault_worker, worker_logs
from tests.faults.ledger import leaks_in, topic_leaks
from tests.fixtures.poller import poller_env, truth_roster
from tests.fixtures.topics import read_topic
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.kafka

WINDOW_DAYS = 2
SLOW_ANSWERS = {"timeout_rate": 1.0, "timeout_seconds": 0.15, "page_size": 20}
"""Every answer takes 150 ms, so a cycle lasts seconds and the outage lands inside one."""
DOWN_SECONDS = 45.0
"""Longer than aiokafka's 40 s request timeout and the worker's 12 s session timeout."""
KAFKA_ERROR_LINES_MAX = 60
"""Kafka client error lines allowed in one process's log over the whole run (rate-limited)."""
CHURN = {"hours": 6, "add": 3, "remove": 2, "role_changes": 2}


async def start_poller(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    """``claude-connector -v poll``, polling every few seconds, its stderr in ``log``."""
    with open(log, "wb") as output:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "streams", "-v", "poll",
            env={**os.environ, **env, "ROSTER_POLL_SECONDS": "3", "ANALYTICS_POLL_SECONDS": "3",
                 "COST_POLL_SECONDS": "3"},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=output,
        )


async def test_broker_outage_during_a_poll_and_a_worker_run(
    canary_sim, tmp_path, ledger
):
    broker = LocalKafka(tmp_path / "kafka", Settings.load().cache_dir, port=free_port(),
                        controller_port=free_port())
    bootstrap = (await asyncio.to_thread(broker.start)).bootstrap
    sim = await canary_sim(users=60, seed=23)
    env = poller_env(sim, bootstrap, connector="outage", window_days=WINDOW_DAYS)
    settings = Settings.load(env)
    truth = await sim.truth()
    poller_log = tmp_path / "poller.log"
    poller = await start_poller(env, poller_log)
    worker = None
    try:
        async def roster_on_topics() -> bool:
            events = await read_topic(bootstrap, settings.topic("user-events"), timeout=10)
            return bool(events) and {e.value["user_id"] for e in events} >= set(
                truth_roster(truth))

        await eventually(roster_on_topics, timeout=60)
        worker = fault_worker(bootstrap, settings.topic_prefix, "outage-worker", tmp_path / "w")
        await worker.wait_ready()

        churns = [await sim.advance(**CHURN, seed=1)]
        await sim.faults(**SLOW_ANSWERS)
        before = (await sim.stats()).get("timeouts", 0)

        async def cycle_running() -> bool:
            return (await sim.stats()).get("timeouts", 0) > before + 3

        await eventually(cycle_running, timeout=30)
        await asyncio.to_thread(broker.stop)
        churns.append(await sim.advance(**CHURN, seed=2))
        await asyncio.sleep(DOWN_SECONDS)
        assert poller.returncode is None and worker.alive(), "a process died with the broker"
        await asyncio.to_thread(broker.start)
        await sim.clear_faults()

        truth = await sim.truth()
        want = truth_roster(truth)

        async def caught_up() -> bool:
            events = await read_topic(bootstrap, settings.topic("user-events"), timeout=20)
            users = (await worker.get("/users", limit="10000")).json()["data"]
            shown = {user["id"]: (user["email"], user["role"]) for user in users}
            return not audit_user_events(events, truth, churns) and shown == want

        try:
            await eventually(caught_up, timeout=120)
        finally:
            events = await read_topic(bootstrap, settings.topic("user-events"), timeout=20)
            findings = audit_user_events(events, truth, churns)
            findings += audit_usage(
                await read_topic(bootstrap, settings.topic("usage-deltas"), timeout=20),
                truth, WINDOW_DAYS,
            )
            poller_text = poller_log.read_text(errors="replace")
            leaks = leaks_in([poller_text, *worker_logs(worker)]) + await topic_leaks(
                bootstrap, [spec.name(settings.topic_prefix) for spec in TOPICS]
            )
            ledger.add("outage: broker stopped during a poll and a worker run",
                       cycles=poller_text.count("status="), faults_injected=1, leaks=leaks,
                       **findings.figures())
        assert not findings, findings
        assert leaks == 0
        assert poller.returncode is None and worker.alive()
        assert "has waited 5s for Kafka; is the broker reachable? still trying" in poller_text
        assert "committed poll cycle outage:" in poller_text
        assert "Traceback" not in poller_text, poller_text[-3000:]
        assert not crashes(worker), crashes(worker)
        for name, text in (("poller", poller_text), ("worker", "".join(worker_logs(worker)))):
            errors = kafka_client_errors(text)
            assert len(errors) <= KAFKA_ERROR_LINES_MAX, (name, len(errors), errors[:5])
    finally:
        if poller.returncode is None:
            poller.terminate()
            await poller.wait()
        if worker is not None:
            worker.stop()
        await asyncio.to_thread(broker.stop)


def kafka_client_errors(log: str) -> list[str]:
    """The lines of ``log`` where a Kafka client says it cannot reach the broker."""
    needles = ("Unable connect to node", "Unable to update metadata", "Failed fetch messages",
               "Group Coordinator Request failed")
    return [line for line in log.splitlines() if any(needle in line for needle in needles)]
