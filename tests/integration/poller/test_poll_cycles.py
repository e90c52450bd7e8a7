"""The poller against the simulator and the real broker: the topics tell exactly what changed."""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest

from streams.config import Settings
from streams.poller.loop import PollerRunner
from tests.fixtures.poller import poll_once, roster_of, settings_for, truth_roster
from tests.fixtures.topics import read_topic
from tests.integration.client.helpers import client_for

pytestmark = pytest.mark.kafka

FAST = {"analytics_rate": 3000.0, "admin_rate": 3000.0}


async def test_baseline_then_churn_is_exactly_what_the_simulator_did(sim_factory, kafka_bootstrap):
    sim = await sim_factory(users=120, seed=11, **FAST)
    settings = settings_for(sim, kafka_bootstrap)

    first = await poll_once(settings)
    assert first.completed, first.reason
    events = await read_topic(kafka_bootstrap, settings.topic("user-events"))
    assert {e.value["op"] for e in events} == {"SNAPSHOT"}
    assert all(e.value["baseline"] for e in events)
    assert roster_of(events) == truth_roster(await sim.truth())
    statuses = [
        m.value["state"]
        for m in await read_topic(kafka_bootstrap, settings.topic("connector-status"))
    ]
    assert statuses == ["BASELINE_COMPLETE"]

    churn = await sim.advance(days=1, add=6, remove=4, role_changes=3, seed=5)
    second = await poll_once(settings)
    assert second.completed, second.reason
    new = [
        e
        for e in await read_topic(kafka_bootstrap, settings.topic("user-events"))
        if e.value["poll_id"] == second.poll_id
    ]
    by_op = defaultdict(set)
    for event in new:
        by_op[event.value["op"]].add(event.value["user_id"])
    assert by_op["ADDED"] == {user["id"] for user in churn["added"]}
    assert by_op["REMOVED"] == set(churn["removed"])
    assert by_op["UPDATED"] == {change["id"] for change in churn["role_changes"]}
    assert not any(e.value["baseline"] for e in new)
    for event in new:
        assert event.key == f"{event.value['org_id']}:{event.value['user_id']}"
        assert event.headers["ce_id"].decode() == event.value["event_id"]
    all_events = await read_topic(kafka_bootstrap, settings.topic("user-events"))
    assert roster_of(all_events) == truth_roster(await sim.truth())

    third = await poll_once(settings)
    assert third.completed and third.counts.get("ADDED", 0) == 0 and "REMOVED" not in third.counts


async def test_usage_deltas_sum_to_what_the_api_reports_for_thirty_days(
    sim_factory, kafka_bootstrap
):
    """Restatements up to 30 days back reach the topic although the window is 3 days; members
    on unified Chat/Cowork or Claude Tag count in full. Each member's effective spend limit
    and spend so far are today's SPEND_LIMIT totals, as the spend-limits endpoint reads."""
    sim = await sim_factory(
        users=40, seed=3, unified_chat_share=0.5, claude_tag_share=0.3, spend_limit_share=0.5,
        **FAST,
    )
    settings = settings_for(sim, kafka_bootstrap)
    await poll_once(settings)
    await sim.advance(days=8, seed=2)
    await sim.advance(hours=6, seed=3)
    assert (await poll_once(settings)).completed
    again = await poll_once(settings)
    assert again.completed and not again.events, "the daily re-read runs once a day"

    sums: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for message in await read_topic(kafka_bootstrap, settings.topic("usage-deltas")):
        value = message.value
        key = (value["user_id"], value["day"].isoformat(), value["family"])
        for metric, delta in value["delta"].items():
            sums[key][metric] += delta
        assert dict(sums[key]) == {k: v for k, v in value["totals"].items() if v or k in sums[key]}

    truth = await sim.truth()
    today = date.fromisoformat(truth["now"][:10])
    window = {(today - timedelta(days=back)).isoformat() for back in range(30)}
    checked = 0
    for user_id, days in truth["usage"].items():
        for day, metrics in days.items():
            if day not in window:
                continue
            if "message_count" in metrics:
                messages = sums[(user_id, day, "MESSAGES")].get("messages", 0)
                assert messages == metrics["message_count"], (user_id, day)
                checked += 1
            if Decimal(metrics["cost_cents"]):
                micros = int(Decimal(metrics["cost_cents"]) * 1_000_000)
                assert sums[(user_id, day, "COST")]["usd_micros"] == micros, (user_id, day)
                assert sums[(user_id, day, "TOKENS")]["total"] == metrics["total_tokens"]
                checked += 1
    assert checked > 200
    effective = await sim.http.get(
        "/v1/organizations/spend_limits/effective",
        params={"limit": 100},
        headers={"x-api-key": sim.config.admin_key, "anthropic-version": "2023-06-01"},
    )
    limited = 0
    for row in effective.json()["data"]:
        totals = sums[(row["actor"]["user_id"], today.isoformat(), "SPEND_LIMIT")]
        spent = int(Decimal(row["period_to_date_spend"]) * 1_000_000)
        assert totals.get("monthly.spend_micros", 0) == spent
        limit = row["amount"] and int(row["amount"]) * 1_000_000
        assert totals.get("monthly.limit_micros") == limit
        limited += limit is not None
    assert limited >= 10


async def test_switching_usage_source_never_counts_twice(sim_factory, kafka_bootstrap):
    """Legacy per-user reports first (a HIPAA-ready org), then the Usage & Cost API: every
    member series sums to the API's value once."""
    sim = await sim_factory(users=40, seed=4, usage_cost_api="hipaa", **FAST)
    settings = settings_for(sim, kafka_bootstrap)
    org = sim.state.org
    assert (await poll_once(settings)).completed
    org.config = dataclasses.replace(org.config, usage_cost_api="available")
    await sim.advance(hours=30, seed=1)
    assert (await poll_once(settings)).completed

    sums: dict[tuple[str, str, str], int] = defaultdict(int)
    by_product: dict[tuple[str, str, str], int] = defaultdict(int)
    actor_types: dict[str, str] = {}
    sources = set()
    for message in await read_topic(kafka_bootstrap, settings.topic("usage-deltas")):
        value = message.value
        if value["family"] in ("TOKENS", "COST"):
            metric = "total" if value["family"] == "TOKENS" else "usd_micros"
            key = (value["user_id"], value["day"].isoformat(), value["family"])
            sums[key] += value["delta"].get(metric, 0)
            by_product[key] += sum(micros for name, micros in value["delta"].items()
                                   if name.startswith("usd_micros."))
            actor_types[value["user_id"]] = value["actor_type"]
            sources.add(value["source"])
    assert sources == {"USAGE_REPORT", "COST_REPORT", "USAGE_ANALYTICS", "COST_ANALYTICS"}
    truth = await sim.truth()
    today = date.fromisoformat(truth["now"][:10])
    checked = 0
    for user_id, days in truth["usage"].items():
        for day, metrics in days.items():
            if (today - date.fromisoformat(day)).days < 30 and "total_tokens" in metrics:
                assert sums[(user_id, day, "TOKENS")] == metrics["total_tokens"], (user_id, day)
                micros = int(Decimal(metrics["cost_cents"]) * 1_000_000)
                assert sums[(user_id, day, "COST")] == micros, (user_id, day)
                # the Usage & Cost API names each cost row's product: the split is complete
                assert by_product[(user_id, day, "COST")] == micros, (user_id, day)
                checked += 1
    assert checked > 100
    assert set(actor_types.values()) == {"user_actor"}, "an Enterprise org's usage is its members'"


async def test_truncated_or_failing_roster_removes_nobody(sim_factory, kafka_bootstrap):
    sim = await sim_factory(users=1300, seed=21, **FAST)  # two roster pages at limit=1000
    settings = settings_for(sim, kafka_bootstrap)
    assert (await poll_once(settings)).completed

    await sim.faults(truncate_pagination=True)
    truncated = await poll_once(settings)
    await sim.clear_faults()
    await sim.faults(error_rate=0.5, statuses=[500, 503, 529])
    flaky = await poll_once(settings)
    await sim.clear_faults()

    assert not truncated.completed
    events = await read_topic(kafka_bootstrap, settings.topic("user-events"))
    assert not [e for e in events if e.value["op"] == "REMOVED"], (truncated.reason, flaky.reason)
    states = [
        m.value["state"]
        for m in await read_topic(kafka_bootstrap, settings.topic("connector-status"))
    ]
    assert "PARTIAL" in states or "DEGRADED" in states

    healed = await poll_once(settings)
    assert healed.completed, healed.reason
    states = [
        m.value["state"]
        for m in await read_topic(kafka_bootstrap, settings.topic("connector-status"))
    ]
    assert states[-1] == "RECOVERED"


async def test_revoked_key_is_reconnect_required_and_never_leaks(
    sim_factory, kafka_bootstrap, caplog
):
    sim = await sim_factory(users=30, seed=5, **FAST)
    settings = settings_for(sim, kafka_bootstrap)
    assert (await poll_once(settings)).completed
    await sim.faults(revoke_keys=True)
    revoked = await poll_once(settings)
    await sim.clear_faults()
    assert not revoked.completed
    statuses = await read_topic(kafka_bootstrap, settings.topic("connector-status"))
    assert statuses[-1].value["state"] == "RECONNECT_REQUIRED"
    recovered = await poll_once(settings)
    assert recovered.completed
    statuses = await read_topic(kafka_bootstrap, settings.topic("connector-status"))
    assert statuses[-1].value["state"] == "RECOVERED"
    events = await read_topic(kafka_bootstrap, settings.topic("user-events"))
    assert not [e for e in events if e.value["op"] == "REMOVED"]
    for text in [caplog.text, revoked.reason or "", *(repr(m.value) for m in statuses)]:
        assert sim.config.analytics_key not in text and sim.config.admin_key not in text


async def test_removed_connector_gets_a_final_deleted_status_and_keeps_history(
    sim_factory, kafka_bootstrap
):
    sim = await sim_factory(users=20, seed=8, **FAST)
    settings = settings_for(sim, kafka_bootstrap)
    assert (await poll_once(settings)).completed
    history = {
        m.value["event_id"]
        for m in await read_topic(kafka_bootstrap, settings.topic("user-events"))
    }

    renamed = settings.replace(connector_name="acme-renamed")
    async with PollerRunner(renamed, quiet=True) as runner:
        assert list(runner.pollers) == ["acme-renamed"]
    statuses = await read_topic(kafka_bootstrap, settings.topic("connector-status"))
    deleted = [s.value for s in statuses if s.value["connector"] == "acme"]
    assert deleted[-1]["state"] == "DELETED"
    assert deleted[-1]["previous_state"] == "BASELINE_COMPLETE"

    async with PollerRunner(renamed, quiet=True):
        pass  # a second start does not repeat the DELETED status
    again = await read_topic(kafka_bootstrap, settings.topic("connector-status"))
    assert [s.value["state"] for s in again if s.value["connector"] == "acme"].count("DELETED") == 1
    after = await read_topic(kafka_bootstrap, settings.topic("user-events"))
    assert {m.value["event_id"] for m in after} == history and len(after) == len(history)


async def test_one_process_polls_several_organisations_from_a_toml_file(
    sim_factory, kafka_bootstrap, tmp_path
):
    console = await sim_factory(users=25, seed=31, org_kind="console", **FAST)
    enterprise = await sim_factory(users=35, seed=32, **FAST)
    config = tmp_path / "connectors.toml"
    config.write_text(
        f'kafka_bootstrap_servers = "{kafka_bootstrap}"\n'
        f'topic_prefix = "multi{uuid.uuid4().hex[:6]}."\n'
        "analytics_rate_per_minute = 3000\nadmin_rate_per_minute = 3000\n"
        "revision_window_days = 2\n"
        f'[[connectors]]\nname = "console"\napi_base_url = "{console.url}"\n'
        f'admin_api_key = "{console.config.admin_key}"\n'
        f'[[connectors]]\nname = "enterprise"\napi_base_url = "{enterprise.url}"\n'
        f'analytics_api_key = "{enterprise.config.analytics_key}"\n'
        f'admin_api_key = "{enterprise.config.admin_key}"\n'
    )
    settings = Settings.load({"CLAUDE_CONNECTOR_CONFIG": str(config)})
    async with PollerRunner(settings, quiet=True) as runner:
        reports = await runner.run_once()
    assert [r.connector for r in reports] == ["console", "enterprise"]
    assert all(r.completed for r in reports), [r.reason for r in reports]
    events = await read_topic(kafka_bootstrap, settings.topic("user-events"))
    by_org = defaultdict(set)
    for event in events:
        by_org[event.value["org_id"]].add(event.value["user_id"])
    for sim in (console, enterprise):
        truth = await sim.truth()
        assert by_org[truth["organization_id"]] == {user["id"] for user in truth["users"]}
    usage = await read_topic(kafka_bootstrap, settings.topic("usage-deltas"))
    by_connector = defaultdict(set)
    for message in usage:
        by_connector[message.value["connector"]].add(message.value["family"])
    assert by_connector["console"] == {"TOKENS", "COST", "CLAUDE_CODE"}, "Admin keys read usage"
    assert by_connector["enterprise"] >= {"TOKENS", "COST", "MESSAGES"}


async def test_console_keys_and_invitations_are_change_events(sim_factory, kafka_bootstrap):
    """Keys found first are the baseline; created, archived and deleted keys follow; members
    leaving never remove a key."""
    sim = await sim_factory(users=60, seed=6, org_kind="console", **FAST)
    settings = settings_for(sim, kafka_bootstrap, CLAUDE_ANALYTICS_API_KEY="")
    first = await poll_once(settings)
    assert first.completed, first.reason
    topic = settings.topic("credentials")
    baseline = await read_topic(kafka_bootstrap, topic)
    truth_keys = {record["id"] for record in sim.state.org.api_keys}
    assert {m.value["key_id"] for m in baseline} == truth_keys
    assert all(m.value["op"] == "CREATED" and m.value["baseline"] for m in baseline)
    for message in baseline:
        assert message.key == f"{message.value['org_id']}:{message.value['key_id']}"
        assert message.headers["ce_subject"].decode() == message.value["key_id"]
        assert message.value["credential"]["partial_key_hint"].startswith("sk-ant-api03-")

    churn = await sim.advance(days=1, remove=5, key_changes=2, seed=3)
    second = await poll_once(settings)
    assert second.completed, second.reason
    changes = [m.value for m in await read_topic(kafka_bootstrap, topic) if not m.value["baseline"]]
    by_op = defaultdict(set)
    for value in changes:
        by_op[value["op"]].add(value["key_id"])
    keys = churn["keys"]
    assert by_op["CREATED"] == set(keys["created"])
    assert by_op["REMOVED"] == set(keys["deleted"])
    assert by_op["UPDATED"] == set(keys["archived"])
    owners = {
        v["key_id"]: v["credential"]["created_by_id"] for v in changes if v["op"] == "CREATED"
    }
    feed = [
        r
        for r in await sim.activities()
        if r.get("api_key_id") in by_op["CREATED"] | by_op["UPDATED"]
    ]
    created = {r["api_key_id"]: r for r in feed if r["type"] == "platform_api_key_created"}
    assert {key: row["actor"]["user_id"] for key, row in created.items()} == owners, (
        "the feed records each created key with its creator"
    )
    assert {r["api_key_id"] for r in feed if r["type"] == "platform_api_key_updated"} == set(
        keys["archived"]
    )
    assert all(
        v["changed_fields"] == ["status"] and v["credential"]["status"] == "archived"
        for v in changes
        if v["op"] == "UPDATED"
    )
    assert not (await poll_once(settings)).counts.get("CREATED")
    code: dict[tuple[str, str], int] = defaultdict(int)
    for message in await read_topic(kafka_bootstrap, settings.topic("usage-deltas")):
        if message.value["family"] == "CLAUDE_CODE":
            key = (message.value["email"], message.value["day"].isoformat())
            code[key] += message.value["delta"].get("sessions", 0)
    api: dict[tuple[str, str], int] = defaultdict(int)
    async with client_for(sim) as client:
        for day in {day for _, day in code}:
            for row in (await client.claude_code_usage(date.fromisoformat(day))).rows:
                api[(row.email, day)] += row.session_count
    assert code and code == api, "Claude Code sessions per member and day, as the report says"
    actors = {
        (m.value["actor_type"], m.value["user_id"][:7])
        for m in await read_topic(kafka_bootstrap, settings.topic("usage-deltas"))
        if m.value["family"] == "TOKENS"
    }
    assert actors == {("user_actor", "user_01"), ("api_actor", "apikey_")}, "keys keep own usage"
    invites = await read_topic(kafka_bootstrap, settings.topic("invites"))
    assert {m.value["invite_id"] for m in invites} == {r["id"] for r in sim.state.org.invites}
    assert all(m.value["op"] == "CREATED" and m.value["baseline"] for m in invites)


async def test_members_groups_travel_on_their_user_events(sim_factory, kafka_bootstrap):
    sim = await sim_factory(users=80, seed=7, groups=3, **FAST)
    settings = settings_for(sim, kafka_bootstrap)
    assert (await poll_once(settings)).completed
    org = sim.state.org
    names = {group["id"]: group["name"] for group in org.groups}
    expected = {
        person.id: {org.groups[n]["id"]: org.groups[n]["name"] for n in org.groups_of(person)}
        for person in org.members()
    }
    events = await read_topic(kafka_bootstrap, settings.topic("user-events"))
    seen = {e.value["user_id"]: e.value["after"]["groups"] for e in events}
    assert seen == expected
    assert any(seen.values()) and not all(seen.values())
    assert {name for groups in seen.values() for name in groups.values()} <= set(names.values())
