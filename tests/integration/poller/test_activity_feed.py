"""The Activity Feed through the poller: every activity once on its topic, late rows included,
across SIGKILLs; a feed that is off, storming or refused changes the status and nothing else."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from typing import Any

import pytest

from streams.client.activities import COMMON_FIELDS
from tests.fixtures.poller import poll_once, poll_with_kills, poller_env, settings_for
from tests.fixtures.topics import Message, read_topic

pytestmark = pytest.mark.kafka

LAG = 1.0
FAST = {"analytics_rate": 3000.0, "admin_rate": 3000.0}


def _published_row(message: Message) -> dict[str, Any]:
    """The feed row an ``Activity`` message carries, rebuilt from its typed and JSON fields."""
    value = message.value
    actor = value["actor"]
    typed_actor = {
        k: v for k, v in actor.items() if k not in ("type", "details_json") and v is not None
    }
    return {
        "id": value["id"],
        "type": value["type"],
        "organization_id": value["organization_id"],
        "organization_uuid": value["organization_uuid"],
        "actor": {"type": actor["type"], **typed_actor, **json.loads(actor["details_json"])},
        **json.loads(value["details_json"]),
    }


def _comparable(row: dict[str, Any]) -> dict[str, Any]:
    """A truth row without ``created_at`` and without null actor fields (the topic types them)."""
    actor = {k: v for k, v in row["actor"].items() if v is not None}
    return {**{k: v for k, v in row.items() if k != "created_at"}, "actor": actor}


async def test_every_activity_once_including_late_rows_and_across_sigkills(
    sim_factory, kafka_bootstrap
):
    sim = await sim_factory(users=60, seed=21, feed_lag=LAG, **FAST)
    env = poller_env(sim, kafka_bootstrap, ACTIVITY_POLL_SECONDS="1")
    settings = settings_for(sim, kafka_bootstrap, prefix=env["TOPIC_PREFIX"])
    topic = settings.topic("activities")
    assert (await poll_once(settings)).completed

    # Rows show LAG s after they were recorded, a few 3 x LAG s: read in between, then after.
    await sim.advance(hours=1, add=5, remove=4, role_changes=3, activities=20)
    await asyncio.sleep(LAG * 1.5)
    early = await poll_once(settings)
    await asyncio.sleep(LAG * 3)
    late = await poll_once(settings)
    assert early.completed and late.completed, (early.reason, late.reason)
    published = await read_topic(kafka_bootstrap, topic)
    in_early = [m.value for m in published if m.value["poll_id"] == early.poll_id]
    in_late = [m.value for m in published if m.value["poll_id"] == late.poll_id]
    assert in_early and len(in_early) == early.counts["Activity"], (early.counts, late.counts)
    newest_early = max((v["created_at"], v["id"]) for v in in_early)
    assert any((v["created_at"], v["id"]) < newest_early for v in in_late), (
        "a row older than one already published arrived later and was not lost"
    )

    # More churn, read by `poll --once` processes SIGKILLed at random moments.
    await sim.advance(hours=1, add=4, remove=3, role_changes=2, activities=20)
    await poll_with_kills(env, random.Random(4), kills=3)
    await asyncio.sleep(LAG * 3)
    await poll_once(settings)

    truth = await sim.activities()
    published = await read_topic(kafka_bootstrap, topic)
    counts = Counter(m.value["id"] for m in published)
    assert counts == Counter(row["id"] for row in truth), "every activity exactly once"
    by_id = {row["id"]: row for row in truth}
    for message in published:
        row = by_id[message.value["id"]]
        assert _published_row(message) == _comparable(row)
        member = message.value["target_user_id"] or message.value["actor"]["user_id"]
        org = message.value["org_id"]
        assert message.key == (f"{org}:{member}" if member else org)
        assert message.headers["ce_id"].decode() == row["id"]
        assert set(row) - COMMON_FIELDS - {"actor"} == set(
            json.loads(message.value["details_json"])
        )
