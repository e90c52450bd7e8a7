"""Scenario 2: processes SIGKILLed at random moments, then restarted.

The poller (``poll --once``) is killed at 20 random points across four cycles of churn: after
de-duplication by event id, every topic holds exactly what an uninterrupted poller wrote next
to it. The worker is killed while it folds the poller's output: once restarted and caught up,
its tables equal those of a worker replaying the topics from offset 0 under a fresh app id,
and no alert was raised twice.
"""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections import defaultdict
from typing import Any

import httpx
import pytest

from streams.config import Settings
from streams.directory import load_directory, read_directory_file
from streams.events.records import (
    AlertState,
    AppAssociation,
    AuthKind,
    ShadowItAlert,
    UserEvent,
    UserOp,
)
from streams.events.topics import DIRECTORY, SHADOW_IT_ALERTS, TOPICS
from streams.worker.rules import Policy
from streams.worker.state import Tables, WorkerState
from streams.worker_process import WorkerProcess
from tests.faults.audit import Findings, audit_user_events, unique_events
from tests.faults.harness import crashes, fault_worker, settle, worker_logs
from tests.faults.ledger import LEDGER, leaks_in, topic_leaks
from tests.fixtures.poller import (
    poll_once,
    poll_with_kills,
    poller_env,
    settings_for,
    truth_roster,
)
from tests.fixtures.topics import read_topic
from tests.fixtures.worker import association, user_event

pytestmark = pytest.mark.kafka

EVENT_TOPICS = ("user-events", "usage-deltas", "app-associations", "connector-status")
CHURN = [
    {"days": 1, "add": 8, "remove": 5, "role_changes": 4, "seed": 1},
    {"hours": 8, "add": 3, "remove": 2, "role_changes": 2, "seed": 2},
    {"days": 1, "add": 5, "remove": 9, "role_changes": 3, "seed": 3},
]
KILLS_PER_CYCLE = 5


def compare(expected: list, got: list, findings: Findings) -> None:
    """Topic content by event id: missing ids are lost, extra ids or contents duplicates."""
    want = {m.value["event_id"] for m in unique_events(expected, Findings())}
    have = {m.value["event_id"] for m in unique_events(got, findings)}
    findings.lost_changes += sorted(want - have)
    findings.duplicate_effects += sorted(have - want)


async def test_poller_sigkilled_at_20_random_points_loses_and_doubles_nothing(
    canary_sim, kafka_bootstrap, ledger
):
    rng = random.Random(20261128)
    reference_sim = await canary_sim(users=400, seed=77)
    crashing_sim = await canary_sim(users=400, seed=77)
    run = uuid.uuid4().hex[:6]
    options = {"connector": "crashy", "window_days": 2}
    reference = settings_for(reference_sim, kafka_bootstrap, prefix=f"ref{run}.", **options)
    crashing_env = poller_env(crashing_sim, kafka_bootstrap, prefix=f"crash{run}.", **options)
    crashing = Settings.load(crashing_env)

    stderr: list[bytes] = []
    kills, churns = 0, []
    for churn in [None, *CHURN]:
        if churn is not None:
            churns.append(await reference_sim.advance(**churn))
            await crashing_sim.advance(**churn)
        report = await poll_once(reference)
        assert report.completed, report.reason
        kills += await poll_with_kills(crashing_env, rng, KILLS_PER_CYCLE, stderr)

    findings = Findings()
    for topic in EVENT_TOPICS:
        compare(await read_topic(kafka_bootstrap, reference.topic(topic)),
                await read_topic(kafka_bootstrap, crashing.topic(topic)), findings)
    crashed_users = await read_topic(kafka_bootstrap, crashing.topic("user-events"))
    findings += audit_user_events(crashed_users, await crashing_sim.truth(), churns)
    leaks = leaks_in(stderr) + await topic_leaks(
        kafka_bootstrap, [spec.name(crashing.topic_prefix) for spec in TOPICS]
    )
    ledger.add("crash: poller SIGKILLed at random points", cycles=len(CHURN) + 1,
               faults_injected=kills, leaks=leaks, **findings.figures())
    assert kills == KILLS_PER_CYCLE * (len(CHURN) + 1)
    assert not findings, findings
    assert leaks == 0


async def worker_tables(worker: WorkerProcess) -> dict[str, Any]:
    """What a worker's views say: members, alerts and per-member usage totals."""
    headers = {"Authorization": f"Bearer {worker.token}"}
    async with httpx.AsyncClient(base_url=worker.url, headers=headers, timeout=10) as views:
        everyone = {"status": "all", "limit": "10000"}
        users = (await views.get("/users", params=everyone)).json()["data"]
        alerts = (await views.get("/alerts", params={"state": "all", "limit": "10000"})).json()
        usage = {}
        for user in users:
            detail = (await views.get(f"/users/{user['org_id']}:{user['id']}")).json()["data"]
            usage[user["id"]] = detail["usage"]["totals"]
    return {
        "users": {u["id"]: (u["email"], u["role"], u["status"]) for u in users},
        "alerts": sorted((a["user_id"], a["reason"], a["state"], a["severity"], a["baseline"])
                         for a in alerts["data"]),
        "usage": usage,
    }


def table_differences(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """Members, usage totals and open alerts that differ (the state a replay must reproduce)."""
    found = []
    for name in ("users", "usage"):
        keys = got[name].keys() | want[name].keys()
        found += [f"{name} {key}" for key in sorted(keys)
                  if got[name].get(key) != want[name].get(key)]
    open_got, open_want = ({a for a in tables["alerts"] if a[2] == "OPENED"}
                           for tables in (got, want))
    return found + [f"open alert {alert}" for alert in sorted(open_got ^ open_want)]


def alert_duplicates(messages: list) -> list[str]:
    """Alerts opened while already open (per member and reason), after de-duplication by id."""
    findings = Findings()
    open_now: dict[tuple[str, str], bool] = defaultdict(bool)
    for message in unique_events(sorted(messages, key=lambda m: m.offset), findings):
        value = message.value
        key = (value["user_id"], value["reason"])
        opened = value["state"] == "OPENED"
        if opened and open_now[key]:
            findings.duplicate_effects.append(f"{key} opened twice ({value['event_id']})")
        open_now[key] = opened
    return findings.duplicate_effects


async def test_worker_sigkilled_mid_stream_equals_a_replay_from_offset_0(
    canary_sim, kafka_bootstrap, tmp_path, ledger
):
    """Users, usage and open alerts must match the replay exactly, and neither the restarted
    worker nor the replay may publish an alert event twice: not an alert opened while open,
    not one event id with two contents (a replay re-derives every alert event, in whatever
    order it applies the input topics)."""
    directory_file = tmp_path / "directory.jsonl"
    sim = await canary_sim(users=200, seed=31, unmanaged_fraction=0.15,
                           directory_out=directory_file)
    settings = settings_for(sim, kafka_bootstrap, connector="killed")
    prefix = settings.topic_prefix
    assert (await poll_once(settings)).completed
    org_id = (await sim.truth())["organization_id"]
    await load_directory(kafka_bootstrap, DIRECTORY.name(prefix),
                         read_directory_file(directory_file, org_id))

    worker = fault_worker(kafka_bootstrap, prefix, f"killed-{uuid.uuid4().hex[:8]}",
                          tmp_path / "worker")
    replay = None
    try:
        await worker.wait_ready()
        await asyncio.sleep(random.Random(7).uniform(0.2, 1.0))
        worker.kill()
        await sim.advance(days=1, add=6, remove=4, role_changes=3, seed=1)
        assert (await poll_once(settings)).completed
        worker.start()
        await worker.wait_ready()
        truth = truth_roster(await sim.truth())
        last: list[dict[str, Any]] = []

        async def caught_up() -> list[str]:
            """Members as the truth has them, and the tables unchanged since the last look."""
            last.append(await worker_tables(worker))
            members = {k: v[:2] for k, v in last[-1]["users"].items() if v[2] == "member"}
            problems = [f"member {k}" for k in sorted(members.keys() ^ truth.keys())]
            return problems + ([] if len(last) > 1 and last[-2] == last[-1] else ["moving"])

        behind = await settle(caught_up, timeout=60)
        doubled = alert_duplicates(await read_topic(kafka_bootstrap, SHADOW_IT_ALERTS.name(prefix)))
        replay = fault_worker(kafka_bootstrap, prefix, f"replay-{uuid.uuid4().hex[:8]}",
                              tmp_path / "replay")
        await replay.wait_ready()

        async def replayed() -> list[str]:
            return table_differences(await worker_tables(replay), last[-1])

        differences = behind + await settle(replayed, timeout=60)
        replay_metrics = (await replay.get("/metrics")).text
        removed = [k for k, v in last[-1]["users"].items() if v[2] != "member" and k in truth]
        also_replayed = alert_duplicates(
            await read_topic(kafka_bootstrap, SHADOW_IT_ALERTS.name(prefix))
        )
        logs = [*worker_logs(worker), *worker_logs(replay)]
        ledger.add("crash: worker SIGKILLed mid-stream", cycles=2, faults_injected=1,
                   false_removals=len(removed), lost_changes=len(differences),
                   duplicate_effects=len(doubled), leaks=leaks_in(logs))
        ledger.add("crash: fresh app id replaying the same topics", cycles=1, faults_injected=1,
                   duplicate_effects=len(also_replayed) - len(doubled))
        assert not differences and not removed, (differences[:20], removed)
        assert not also_replayed, also_replayed[:20]
        assert last[-1]["alerts"], "the organisation raises alerts"
        assert re.search(r"^claude_worker_alert_events_already_published_total [1-9]",
                         replay_metrics, re.M), "the replay derived them again, published none"
        assert leaks_in(logs) == 0
        assert not crashes(worker) and not crashes(replay), crashes(worker) + crashes(replay)
    finally:
        worker.stop()
        if replay is not None:
            replay.stop()


def test_an_alert_has_one_id_whatever_order_its_causes_arrive_in():
    member = user_event(UserOp.SNAPSHOT, "user_1", "one@gmail.com", baseline=True)
    link = association("user_1", "github", auth=AuthKind.PERSONAL_CREDENTIAL, baseline=True)
    policy = Policy(corporate_domains=frozenset({"acme.com"}))
    opened = []
    for first, second in ((member, link), (link, member)):
        state = WorkerState(Tables.empty(), policy)
        alerts = [*apply(state, first), *apply(state, second)]
        opened.append(sorted((a.reason.value, a.event_id) for a in alerts
                             if a.state is AlertState.OPENED))
    LEDGER.add("crash: same alerts, causes in the other order", cycles=2, faults_injected=1,
               duplicate_effects=len(set(opened[0]) ^ set(opened[1])) // 2)
    assert opened[0] == opened[1]


def apply(state: WorkerState, record: UserEvent | AppAssociation) -> list[ShadowItAlert]:
    if isinstance(record, UserEvent):
        return state.apply_user_event(record, 0)
    return state.apply_association(record, 0)
