"""The Activity Feed through the poller: every activity once on its topic, late rows included,
across SIGKILLs; a feed that is off, storming or refused changes the status and nothing else."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter, defaultdict
from typing import Any

import pytest

from streams.client.activities import COMMON_FIELDS
from streams.config import Secret
from streams.poller.cycle import DataType
from streams.poller.loop import PollerRunner
from tests.fixtures.poller import (
    poll_once,
    poll_with_kills,
    poller_env,
    roster_of,
    settings_for,
    truth_roster,
)
from tests.fixtures.topics import Message, read_topic
from tests.integration.client.helpers import FAST_RETRY

pytestmark = pytest.mark.kafka

LAG = 2.0
"""Seconds before a recorded row shows; late rows show after three times as long."""
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
    env = poller_env(
        sim,
        kafka_bootstrap,
        ACTIVITY_POLL_SECONDS="1",
        CLAUDE_COMPLIANCE_API_KEY=sim.config.compliance_key,
    )
    settings = settings_for(
        sim,
        kafka_bootstrap,
        prefix=env["TOPIC_PREFIX"],
        CLAUDE_COMPLIANCE_API_KEY=sim.config.compliance_key,
    )
    topic = settings.topic("activities")
    assert (await poll_once(settings)).completed

    # Rows show LAG s after they were recorded, a few 3 x LAG s: read in between (with 3.5 s to
    # spare for a slow poll on a busy machine), then after.
    await sim.advance(hours=1, add=5, remove=4, role_changes=3, activities=20)
    await asyncio.sleep(LAG * 1.25)
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


async def test_feed_changes_arrive_before_the_roster_poll_which_confirms_them(
    sim_factory, kafka_bootstrap
):
    sim = await sim_factory(users=80, seed=17, **FAST)
    settings = settings_for(
        sim, kafka_bootstrap, CLAUDE_COMPLIANCE_API_KEY=sim.config.compliance_key
    )
    events_topic = settings.topic("user-events")
    async with PollerRunner(settings, quiet=True) as runner:
        poller = runner.pollers["acme"]
        assert (await poller.run_cycle()).completed
        churn = await sim.advance(hours=1, add=5, remove=4, role_changes=3, activities=10)

        fast = await poller.run_cycle({DataType.ACTIVITIES})
        assert fast.completed, fast.reason
        feed_events = [
            e.value
            for e in await read_topic(kafka_bootstrap, events_topic)
            if e.value["source"] == "ACTIVITY_FEED"
        ]
        by_op = defaultdict(set)
        for event in feed_events:
            by_op[event["op"]].add(event["user_id"])
        assert by_op["ADDED"] == {user["id"] for user in churn["added"]}
        assert by_op["REMOVED"] == set(churn["removed"])
        assert by_op["UPDATED"] == {change["id"] for change in churn["role_changes"]}
        truth = await sim.activities()
        for event in feed_events:
            deciding = [
                row
                for row in truth
                if row["type"] in ("claude_user_role_updated", "org_user_left")
                and event["user_id"] in (row.get("user_id"), row["actor"].get("user_id"))
            ]
            actor = deciding[0]["actor"]
            identifier = (
                actor.get("user_id") or actor.get("admin_api_key_id") or actor.get("directory_id")
            )
            assert event["actor"] == {
                "type": actor["type"],
                "id": identifier,
                "email": actor.get("email_address"),
            }

        roster = await poller.run_cycle({DataType.ROSTER})
        assert roster.completed, roster.reason
        assert not {"ADDED", "REMOVED", "UPDATED"} & roster.counts.keys(), roster.counts
        assert roster.reconciliation == {
            "confirmed": len(feed_events),
            "contradicted": 0,
            "snapshot_only": 0,
        }
    status = (await read_topic(kafka_bootstrap, settings.topic("connector-status")))[-1]
    assert status.value["state"] == "HEALTHY"
    assert status.value["feed_reconciliation"] == roster.reconciliation
    all_events = await read_topic(kafka_bootstrap, events_topic)
    assert roster_of(all_events) == truth_roster(await sim.truth(usage=False))
    # A restart rebuilds the same state: nothing is announced again.
    again = await poll_once(settings)
    assert not {"ADDED", "REMOVED", "UPDATED", "SNAPSHOT"} & again.counts.keys(), again.counts


async def test_feed_off_storming_or_refused_changes_the_status_and_nothing_else(
    sim_factory, kafka_bootstrap
):
    sim = await sim_factory(users=40, seed=3, **FAST)
    settings = settings_for(
        sim, kafka_bootstrap, CLAUDE_COMPLIANCE_API_KEY=sim.config.compliance_key
    )
    assert (await poll_once(settings)).completed

    async def cycle_with(**faults: Any) -> tuple[str, str]:
        """Status after a cycle under ``faults``, then after a clean one (which recovers)."""
        await sim.faults(**faults)
        await sim.advance(hours=1, add=2, remove=1, activities=4)
        report = await poll_once(settings, retry=FAST_RETRY)
        await sim.clear_faults()
        assert {o.data_type for o in report.outcomes if not o.completed} == {"activities"}
        status = (await read_topic(kafka_bootstrap, settings.topic("connector-status")))[-1]
        assert (await poll_once(settings)).completed
        return status.value["state"], status.value["reason"]

    for variant in (403, 404):
        state, reason = await cycle_with(feed_off=variant)
        assert state == "PARTIAL" and "activity feed not enabled" in reason
        assert "read:compliance_activities" in reason and "/v1/compliance/activities" in reason
        assert f"status={variant}" in reason
    state, _ = await cycle_with(feed_storm=True, storm_retry_after=0.01)
    assert state == "DEGRADED"
    refused = settings.replace(compliance_api_key=Secret("sk-ant-api01-revoked-key"))
    await sim.advance(hours=1, add=1, activities=2)
    report = await poll_once(refused, retry=FAST_RETRY)
    status = (await read_topic(kafka_bootstrap, settings.topic("connector-status")))[-1]
    assert status.value["state"] == "RECONNECT_REQUIRED"
    assert "activities" in status.value["reason"] and "status=401" in status.value["reason"]
    assert "sk-ant-api01-revoked-key" not in repr(status.value) + (report.reason or "")

    # The roster kept working through all of it: every change arrived, no false removal.
    events = await read_topic(kafka_bootstrap, settings.topic("user-events"))
    assert roster_of(events) == truth_roster(await sim.truth(usage=False))
    assert all(e.value["source"] == "ROSTER" for e in events)
    recovered = await poll_once(settings)
    assert recovered.completed
    statuses = await read_topic(kafka_bootstrap, settings.topic("connector-status"))
    assert statuses[-1].value["state"] == "RECOVERED"
    published = {
        m.value["id"] for m in await read_topic(kafka_bootstrap, settings.topic("activities"))
    }
    assert published == {row["id"] for row in await sim.activities()}, "nothing lost"


async def test_a_feed_refused_to_the_admin_key_fallback_is_not_available_and_no_failure(
    sim_factory, kafka_bootstrap, caplog
):
    sim = await sim_factory(users=30, seed=5, **FAST)  # Enterprise: the admin key lacks the scope
    settings = settings_for(sim, kafka_bootstrap)
    async with PollerRunner(settings, quiet=True) as runner:
        poller = runner.pollers["acme"]
        with caplog.at_level("INFO", logger="streams.poller.cycle"):
            first = await poller.run_cycle()
            await sim.advance(hours=1, add=2, activities=4)
            second = await poller.run_cycle()
        assert first.completed and second.completed, (first.reason, second.reason)
        said = [r for r in caplog.records if "not available to this connector" in r.message]
        assert len(said) == 1, "said once in the log"
        assert poller.retry_interval(DataType.ACTIVITIES, 30, 3600) == 3600, "slow retry"
        assert poller.retry_interval(DataType.ROSTER, 300, 3600) == 300
    statuses = await read_topic(kafka_bootstrap, settings.topic("connector-status"))
    assert [s.value["state"] for s in statuses] == ["BASELINE_COMPLETE"]
    failing = statuses[-1].value["failing"]
    assert set(failing) == {"activities"} and "not available to this connector" in failing[
        "activities"
    ]
    assert "read:compliance_activities" in failing["activities"]
    assert await read_topic(kafka_bootstrap, settings.topic("activities")) == []
    events = await read_topic(kafka_bootstrap, settings.topic("user-events"))
    assert roster_of(events) == truth_roster(await sim.truth(usage=False))


async def test_with_an_analytics_key_the_feed_is_how_members_join_and_leave(
    sim_factory, kafka_bootstrap
):
    sim = await sim_factory(users=60, seed=12, **FAST)
    settings = settings_for(
        sim,
        kafka_bootstrap,
        CLAUDE_ADMIN_API_KEY="",
        CLAUDE_COMPLIANCE_API_KEY=sim.config.compliance_key,
    )
    async with PollerRunner(settings, quiet=True) as runner:
        poller = runner.pollers["acme"]
        assert DataType.ROSTER not in poller.supported()
        assert (await poller.run_cycle()).completed
        known = set(poller.state.members)
        churn = await sim.advance(hours=2, add=4, remove=12, activities=0)
        assert (await poller.run_cycle({DataType.ACTIVITIES})).completed
        # Engagement data still shows yesterday's members: the feed's leavers stay gone.
        assert (await poller.run_cycle({DataType.ANALYTICS})).completed
        assert not (set(churn["removed"]) & set(poller.state.members))
    events = [
        e.value
        for e in await read_topic(kafka_bootstrap, settings.topic("user-events"))
        if e.value["source"] == "ACTIVITY_FEED"
    ]
    added = {e["user_id"] for e in events if e["op"] == "ADDED"}
    removed = {e["user_id"] for e in events if e["op"] == "REMOVED"}
    assert added == {user["id"] for user in churn["added"]}
    assert removed == set(churn["removed"]) & known and removed


async def test_a_compliance_key_alone_reads_the_feed_from_the_api_clock(
    sim_factory, kafka_bootstrap
):
    sim = await sim_factory(users=20, seed=4, **FAST)
    settings = settings_for(
        sim,
        kafka_bootstrap,
        CLAUDE_ADMIN_API_KEY="",
        CLAUDE_ANALYTICS_API_KEY="",
        CLAUDE_COMPLIANCE_API_KEY=sim.config.compliance_key,
    )
    first = await poll_once(settings)
    assert first.completed and "Activity" not in first.counts
    await sim.advance(hours=1, add=2, activities=3)
    second = await poll_once(settings)
    assert second.completed
    published = await read_topic(kafka_bootstrap, settings.topic("activities"))
    assert {m.value["id"] for m in published} == {row["id"] for row in await sim.activities()}
