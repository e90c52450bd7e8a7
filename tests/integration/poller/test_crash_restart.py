"""SIGKILL the poller at random points of its cycles: after de-duplication by event id, the
topics hold exactly what an uninterrupted poller wrote, and no change is missing."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import uuid

import pytest

from streams.config import Settings
from streams.poller.loop import PollerRunner
from tests.fixtures.topics import read_topic

pytestmark = pytest.mark.kafka

TOPICS = ("user-events", "usage-deltas", "app-associations", "connector-status")
# Fields that record when or how fast something was observed, not what changed.
VOLATILE = {"observed_at", "last_success"}
CHURN = [
    {"days": 1, "add": 8, "remove": 5, "role_changes": 4, "seed": 1},
    {"hours": 8, "add": 3, "remove": 2, "role_changes": 2, "seed": 2},
    {"days": 1, "add": 5, "remove": 9, "role_changes": 3, "seed": 3},
]
KILLS_PER_CYCLE = 5


def env_for(sim, bootstrap: str, prefix: str) -> dict[str, str]:
    return {
        "CLAUDE_API_BASE_URL": sim.url,
        "CLAUDE_ANALYTICS_API_KEY": sim.config.analytics_key,
        "CLAUDE_ADMIN_API_KEY": sim.config.admin_key,
        "CONNECTOR_NAME": "crashy",
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "TOPIC_PREFIX": prefix,
        "TOPIC_PARTITIONS": "2",
        "ANALYTICS_RATE_PER_MINUTE": "3000",
        "ADMIN_RATE_PER_MINUTE": "3000",
        "REVISION_WINDOW_DAYS": "2",
    }


async def poll_with_kills(env: dict[str, str], rng: random.Random, kills: int) -> int:
    """Run ``poll --once`` until it was SIGKILLed ``kills`` times, then once to the end.

    A run that finishes before its kill moment simply completes: the runs after it are then
    extra cycles with nothing new, which must leave no trace either.
    """
    killed = 0
    while True:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "streams",
            "poll",
            "--once",
            env={**os.environ, **env},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        last_run = killed >= kills
        if not last_run:
            await asyncio.sleep(rng.uniform(0.1, 2.0))
            if process.returncode is None:
                process.send_signal(signal.SIGKILL)
                killed += 1
        _, stderr = await process.communicate()
        assert process.returncode in (0, -signal.SIGKILL), stderr.decode()[-2000:]
        if last_run and process.returncode == 0:
            return killed


def contents(messages) -> dict[str, dict]:
    by_id: dict[str, dict] = {}
    for message in messages:
        value = {k: v for k, v in message.value.items() if k not in VOLATILE}
        assert by_id.setdefault(value["event_id"], value) == value, "one id, two contents"
    return by_id


async def test_sigkill_at_random_points_loses_and_duplicates_nothing(sim_factory, kafka_bootstrap):
    rng = random.Random(20261128)
    reference_sim = await sim_factory(users=400, seed=77, analytics_rate=3000, admin_rate=3000)
    crashing_sim = await sim_factory(users=400, seed=77, analytics_rate=3000, admin_rate=3000)
    run = uuid.uuid4().hex[:6]
    reference_env = env_for(reference_sim, kafka_bootstrap, f"ref{run}.")
    crashing_env = env_for(crashing_sim, kafka_bootstrap, f"crash{run}.")
    reference = Settings.load(reference_env)

    total_kills = 0
    for churn in [None, *CHURN]:
        if churn is not None:
            await reference_sim.advance(**churn)
            await crashing_sim.advance(**churn)
        async with PollerRunner(reference, quiet=True) as runner:
            (report,) = await runner.run_once()
        assert report.completed, report.reason
        total_kills += await poll_with_kills(crashing_env, rng, KILLS_PER_CYCLE)

    assert total_kills >= 15
    for topic in TOPICS:
        expected = contents(await read_topic(kafka_bootstrap, f"ref{run}.{topic}"))
        got = contents(await read_topic(kafka_bootstrap, f"crash{run}.{topic}"))
        assert got.keys() == expected.keys(), topic
        assert got == expected, topic
