"""A real worker subprocess on the session broker: tables, alerts, dead letters, restarts, replay.

One topic prefix per module; the first worker is shared by the tests in order (scenario,
churn, poison, token), then a SIGKILL/restart and a fresh app id rebuild the same tables.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.events.codec import decode
from streams.events.deadletter import read_dead_letter
from streams.events.records import (
    ActivityActor,
    AlertReason,
    AlertState,
    AuthKind,
    ConnectorState,
    DirectoryStatus,
    MetricFamily,
    ShadowItAlert,
    UserOp,
)
from streams.events.topics import DEAD_LETTER, SHADOW_IT_ALERTS, USAGE_DELTAS, USER_EVENTS
from streams.kafkaio.reader import partition_numbers
from streams.worker.webhook import EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.fixtures.waiting import eventually
from tests.fixtures.webhook import Receiver
from tests.fixtures.worker import (
    ORG,
    WorkerProcess,
    activity,
    association,
    connector_status,
    directory_record,
    image,
    produce,
    produce_raw,
    start_worker,
    usage_delta,
    user_event,
    worker_on,
)

pytestmark = pytest.mark.kafka

TOKEN = "test-token-123"
SECRET = "webhook-secret"
PREFIX = f"wt{uuid.uuid4().hex[:8]}."
DAY = date(2026, 11, 1)
USD = 100_000_000  # micro-cents
WORKER_ENV = {"CORPORATE_DOMAINS": "acme.com", "SPEND_SPIKE_DAILY_USD": "100",
              "MANAGED_CONNECTORS": "github"}


def scenario() -> list[Any]:
    """Directory, baseline members, usage and associations with a known set of alerts."""
    return [
        directory_record("alice@acme.com", employee_id="e1"),
        directory_record("bob@acme.com", DirectoryStatus.DEPROVISIONED, employee_id="e2"),
        directory_record("carol@acme.com", employee_id="e3"),
        user_event(UserOp.SNAPSHOT, "user_alice", "alice@acme.com", baseline=True),
        user_event(UserOp.SNAPSHOT, "user_bob", "bob@acme.com", baseline=True),
        user_event(UserOp.SNAPSHOT, "user_carol", " Carol+Claude@ACME.com", baseline=True),
        user_event(UserOp.SNAPSHOT, "user_dave", "dave@gmail.com", baseline=True),
        user_event(UserOp.SNAPSHOT, "user_erin", "erin@acme.com", baseline=True),
        usage_delta("user_alice", DAY, {"usd_micros": 250 * USD}, email="alice@acme.com"),
        usage_delta("user_carol", DAY, {"usd_micros": 5 * USD}),
        association("user_alice", "github"),
        association("user_carol", "slack", auth=AuthKind.ORG_MANAGED),
        connector_status(ConnectorState.HEALTHY),
        activity(1, "sso_login_succeeded", None, ALICE, auth_method="sso"),
        activity(2, "integration_user_connected", None, ALICE, 1, mcp_server_id="srv_gh",
                 mcp_server_name="GitHub", integration_type="mcp"),
        activity(3, "claude_user_role_updated", "user_alice", ADMIN_KEY, 2, user_id="user_alice",
                 user_email="alice@acme.com", previous_role="user", current_role="developer"),
        activity(4, "api_key_created", None, ALICE, 3, api_key_id="key_1",
                 scopes=["read:members"]),
    ]


ALICE = ActivityActor(type="user_actor", user_id="user_alice", email_address="alice@acme.com")
ADMIN_KEY = ActivityActor(type="admin_api_key_actor", admin_api_key_id="apikey_admin")


EXPECTED_OPEN = {
    ("user_alice", "SPEND_SPIKE", "HIGH", False),  # $250 is above twice the $100 threshold
    ("user_alice", "PERSONAL_CREDENTIAL_CONNECTOR", "HIGH", False),  # real spend: exposed
    ("user_bob", "DEPROVISIONED_ACTIVE", "HIGH", True),
    ("user_dave", "UNMANAGED_IDENTITY", "LOW", True),  # baseline, no role, no spend
    ("user_dave", "PERSONAL_DOMAIN", "LOW", True),
    ("user_erin", "UNMANAGED_IDENTITY", "LOW", True),
    ("key_1", "ADMIN_CREDENTIAL_CREATED", "MEDIUM", False),  # the scoped key alice created
}


async def read_topic(bootstrap: str, topic: str) -> list[Any]:
    """Every message on ``topic`` up to its current end."""
    tps = [TopicPartition(topic, p) for p in await partition_numbers(bootstrap, topic)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False)
    await consumer.start()
    messages: list[Any] = []
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        while pending:
            for batch in (await consumer.getmany(*pending, timeout_ms=500)).values():
                messages.extend(batch)
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    return messages


async def alert_events(bootstrap: str) -> list[ShadowItAlert]:
    return [decode(m.value) for m in await read_topic(bootstrap, SHADOW_IT_ALERTS.name(PREFIX))]


def open_set(alerts: list[dict[str, Any]]) -> set[tuple[str, str, str, bool]]:
    return {(a["user_id"], a["reason"], a["severity"], a["baseline"]) for a in alerts}


def every_alert(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alerts in full (ids, opening times, evidence), in one order."""
    return sorted(alerts, key=lambda a: (a["state"], a["alert_id"], a["event_id"]))




@pytest.fixture(scope="module")
def worker(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, receiver: Receiver
) -> Iterator[WorkerProcess]:
    """The scenario on the topics before the worker starts, then one worker for the module."""
    env = {**WORKER_ENV, "ALERT_WEBHOOK_URL": receiver.url, "ALERT_WEBHOOK_SECRET": SECRET}
    with worker_on(kafka_bootstrap, PREFIX, scenario(), f"app-{uuid.uuid4().hex[:8]}",
                   Path(tmp_path_factory.mktemp("worker")), token=TOKEN, env=env) as process:
        yield process


async def test_tables_and_alerts_match_the_scenario(worker: WorkerProcess, kafka_bootstrap: str):
    async def users_ready():
        body = (await worker.get("/users")).json()
        return body if body["count"] == 5 else None

    users = await eventually(users_ready)
    assert users["complete"] is True and users["partitions"] == [0, 1]
    assert users["total"] == 5
    second = (await worker.get("/users", limit="2", offset="2")).json()
    assert (second["count"], second["total"]) == (2, 5)
    assert second["data"] == users["data"][2:4]
    by_id = {user["id"]: user for user in users["data"]}
    assert by_id["user_carol"]["email"] == " Carol+Claude@ACME.com"
    assert {user["role"] for user in users["data"]} == {"user"}

    async def alerts_ready():
        body = (await worker.get("/alerts", state="open")).json()
        return body if open_set(body["data"]) == EXPECTED_OPEN else None

    alerts = await eventually(alerts_ready)
    assert all(alert["email"] for alert in alerts["data"] if alert["user_id"].startswith("user_"))
    # One OPENED event per alert. It carries the severity the alert opened with: alice's
    # connector alert opens MEDIUM when her association is read before her spend (the topics
    # are consumed side by side), and the view regrades it to HIGH (checked above).
    events = await alert_events(kafka_bootstrap)
    assert sorted((e.user_id, e.reason.value) for e in events) == sorted(
        (user_id, reason) for user_id, reason, _, _ in EXPECTED_OPEN
    )
    assert [e.state for e in events] == [AlertState.OPENED] * len(EXPECTED_OPEN)

    detail = (await worker.get("/users/user_alice")).json()["data"]
    assert detail["usage"]["totals"]["COST"] == {"usd_micros": 250 * USD}
    assert [item["name"] for item in detail["associations"]] == ["github"]
    assert detail["directory"]["employee_id"] == "e1"
    facts = detail["activity"]
    assert (facts["last_login_method"], facts["keys_created"]) == ("sso", ["key_1"])
    assert [(c["server_id"], c["name"]) for c in facts["connectors"]] == [("srv_gh", "GitHub")]
    change = facts["role_change"]
    assert (change["previous"], change["current"], change["by"]["id"]) == (
        "user", "developer", "apikey_admin"
    )
    keys = (await worker.get("/keys", org=ORG)).json()
    assert [(k["key_id"], k["kind"], k["created_by"]["id"]) for k in keys["data"]] == [
        ("key_1", "api_key", "user_alice")
    ]
    status = (await worker.get("/status")).json()
    assert [(s["connector"], s["state"]) for s in status["data"]] == [("test", "HEALTHY")]
    assert status["data"][0]["feed_reconciliation"] == {
        "confirmed": 3,
        "contradicted": 1,
        "snapshot_only": 0,
    }
    metrics = (await worker.get("/metrics")).text
    assert 'claude_connector_feed_reconciliation{connector="test",result="confirmed"} 3' in metrics


async def test_churn_resolves_and_raises_alerts(worker: WorkerProcess, kafka_bootstrap: str):
    erin = image("user_erin", "erin@acme.com")
    await produce(kafka_bootstrap, PREFIX, [
        user_event(UserOp.REMOVED, "user_erin", before=erin, poll=2),
        user_event(UserOp.ADDED, "user_frank", "frank@yahoo.com", poll=2),
        directory_record("dave@gmail.com", employee_id="e4"),
    ])
    want = (EXPECTED_OPEN - {("user_erin", "UNMANAGED_IDENTITY", "LOW", True),
                             ("user_dave", "UNMANAGED_IDENTITY", "LOW", True)}) | {
        ("user_frank", "UNMANAGED_IDENTITY", "MEDIUM", False),  # new ranks above baseline
        ("user_frank", "PERSONAL_DOMAIN", "MEDIUM", False),
    }

    async def settled():
        body = (await worker.get("/alerts")).json()
        return open_set(body["data"]) == want

    await eventually(settled)
    events = await alert_events(kafka_bootstrap)
    resolved = {(e.user_id, e.reason) for e in events if e.state is AlertState.RESOLVED}
    assert resolved == {("user_erin", AlertReason.UNMANAGED_IDENTITY),
                        ("user_dave", AlertReason.UNMANAGED_IDENTITY)}
    assert len(events) == len(EXPECTED_OPEN) + 2 + 2
    removed = (await worker.get("/users", status="removed")).json()["data"]
    assert [user["id"] for user in removed] == ["user_erin"]


async def test_poison_goes_to_the_dead_letter_topic_and_the_worker_goes_on(
    worker: WorkerProcess, kafka_bootstrap: str
):
    topic = USER_EVENTS.name(PREFIX)
    await produce_raw(kafka_bootstrap, topic, f"{ORG}:user_x".encode(), b"\x00not avro at all")
    await produce_raw(kafka_bootstrap, USAGE_DELTAS.name(PREFIX), f"{ORG}:user_y".encode(),
                      b"\xc3\x01" + b"\x11" * 8 + b"body")
    await produce(kafka_bootstrap, PREFIX, [
        user_event(UserOp.ADDED, "user_gina", "gina@acme.com", poll=3),
        directory_record("gina@acme.com"),
    ])

    async def dead_letters():
        found = await read_topic(kafka_bootstrap, DEAD_LETTER.name(PREFIX))
        return found if len(found) >= 2 else None

    found = await eventually(dead_letters)
    infos = sorted(((read_dead_letter(m.headers), m.value) for m in found),
                   key=lambda item: item[0].error)
    assert [(info.error, info.topic) for info, _ in infos] == [
        ("MalformedMessage", USER_EVENTS.name(PREFIX)),
        ("UnknownSchema", USAGE_DELTAS.name(PREFIX)),
    ]
    assert infos[0][1] == b"\x00not avro at all"
    assert "single-object" in infos[0][0].reason

    async def gina_there():
        return (await worker.get("/users/user_gina")).status_code == 200

    await eventually(gina_there)
    metrics = (await worker.get("/metrics")).text
    assert 'claude_worker_dead_letters_total{error="MalformedMessage"' in metrics


async def test_views_need_the_token_and_reject_bad_parameters(worker: WorkerProcess):
    for path in ("/users", "/alerts", "/status", "/metrics", "/users/user_alice"):
        assert (await worker.get(path, token="wrong")).status_code == 401
    assert (await worker.get("/health")).status_code == 200
    for path, params in [("/alerts", {"state": "bogus"}), ("/users", {"limit": "x"}),
                         ("/users", {"limit": "0"}), ("/alerts", {"reason": "NOPE"})]:
        response = await worker.get(path, **params)
        assert response.status_code == 400, (path, params, response.text)
        assert "error" in response.json()
    assert (await worker.get("/users/user_nobody")).status_code == 404


async def test_sigkill_mid_stream_recovers_and_raises_nothing_twice(
    worker: WorkerProcess, kafka_bootstrap: str
):
    before = (await worker.get("/alerts", state="all")).json()["data"]
    deltas = [
        usage_delta(f"user_{n % 40}", DAY + timedelta(days=n // 40), {"usd_micros": USD},
                    family=MetricFamily.COST)
        for n in range(4000)
    ]
    await produce(kafka_bootstrap, PREFIX, deltas[:2000])
    await asyncio.sleep(0.5)
    worker.kill()
    await produce(kafka_bootstrap, PREFIX, deltas[2000:])
    worker.start()
    await worker.wait_ready()

    async def settled():
        body = (await worker.get("/alerts", state="all")).json()
        metrics = (await worker.get("/metrics")).text
        return body["data"] if "claude_worker_table_rows{table=\"usage\"} 42" in metrics else None

    after = await eventually(settled, timeout=60)
    assert open_set([a for a in after if a["state"] == "OPENED"]) == open_set(
        [a for a in before if a["state"] == "OPENED"]
    )
    events = await alert_events(kafka_bootstrap)
    assert len(events) == len({e.event_id for e in events}), "no alert event published twice"
    opened = Counter((e.user_id, e.reason) for e in events if e.state is AlertState.OPENED)
    resolved = Counter((e.user_id, e.reason) for e in events if e.state is AlertState.RESOLVED)
    assert all(opened[key] - resolved[key] in (0, 1) for key in opened), opened


async def test_every_alert_event_reached_the_webhook_once_and_signed(
    worker: WorkerProcess, kafka_bootstrap: str, receiver: Receiver
):
    events = {e.event_id for e in await alert_events(kafka_bootstrap)}

    async def delivered():
        return {h[EVENT_ID_HEADER] for h, _ in receiver.received} == events

    await eventually(delivered)
    ids = [headers[EVENT_ID_HEADER] for headers, _ in receiver.received]
    assert sorted(ids) == sorted(set(ids)), "no event delivered twice, restart included"
    for headers, body in receiver.received:
        assert verify(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER],
                      now=time.time())


async def test_a_fresh_app_id_rebuilds_the_same_tables(
    worker: WorkerProcess, kafka_bootstrap: str, tmp_path: Path
):
    fresh = start_worker(kafka_bootstrap, PREFIX, f"replay-{uuid.uuid4().hex[:8]}", tmp_path,
                         token=TOKEN, env=WORKER_ENV)
    try:
        await fresh.wait_ready()
        want_users = (await worker.get("/users", status="all")).json()["data"]
        want_open = every_alert((await worker.get("/alerts")).json()["data"])
        want_resolved = (await worker.get("/alerts", state="resolved")).json()["data"]

        async def same():
            users = (await fresh.get("/users", status="all")).json()["data"]
            alerts = every_alert((await fresh.get("/alerts")).json()["data"])
            return users == want_users and alerts == want_open

        await eventually(same, timeout=60)
        # The fresh worker applies the directory before any member, so an alert the first
        # worker opened and resolved when a directory record came later never opens: it may
        # hold fewer resolved alerts, but only ones the first worker holds, in full.
        resolved = (await fresh.get("/alerts", state="resolved")).json()["data"]
        assert all(alert in want_resolved for alert in resolved), (resolved, want_resolved)
    finally:
        fresh.stop()
