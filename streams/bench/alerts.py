"""``claude-connector bench alerts --json``: open alerts against the simulator's risk labels.

1. A real broker (``KAFKA_BOOTSTRAP_SERVERS``, else a ``LocalKafka`` on free ports), a
   simulator of ``users`` members, its directory loaded, ``claude-connector worker`` with the
   simulator's corporate domains, and the poller's own loop, reading the Compliance Activity
   Feed too.
2. After the baseline, ``rounds`` of churn: each advances simulated time by a day, adds,
   removes, re-roles and promotes members (to an admin-class role), records ``users / 5``
   other activities in the feed (sign-ins, connectors, keys created and deleted, groups), and
   loads the directory file again (``--prune``), as a company's directory sync would.
3. Once the worker holds every member and its open alerts stop changing, each reason's open
   alerts (on current members, or on the invitation or key that is its subject) are compared
   with ``/_sim/truth``'s ``risks``, which the simulator derives from how it generated each
   member, invitation, activity and key, never from the worker's rules:
   ``precision`` = alerts that are labelled / alerts, ``recall`` = labelled subjects with the
   alert / labelled subjects (1.0 when there is nothing to find); ``unlabelled`` and
   ``missed`` name up to five subjects of each kind of miss.
   ``findings_per_1000`` = identities with an open alert per 1,000 members.

PERSONAL_CREDENTIAL_CONNECTOR is labelled over the days the poller read the connector
analytics: the revision window at the baseline, and from the first new day on the daily
re-read that reaches ``RESTATEMENT_DAYS`` back (a personal credential seen there is still
one). SSO_BYPASS_LOGIN and PRIVILEGE_GRANTED are labelled from what the simulator recorded in
the feed (a member's last sign-in and last role change); ADMIN_CREDENTIAL_CREATED and
ORPHANED_CREDENTIAL from the keys it recorded (``/_sim/truth``'s ``keys``), compared with the
open alerts whose subject is that key.

SPEND_LIMIT_NEAR is labelled from the limit the simulator drew for a member (a share of
their spend) and the default share 0.8; PERSONAL_INVITE from the invitations it drew to a
personal mail domain that are still pending (``/_sim/truth``'s ``invites``), compared with the
open alerts whose subject is an invitation.

SPEND_SPIKE has no label (the simulator draws spend, not spikes): its open count is reported
as ``unlabelled``. ``ratio`` = the lowest precision or recall over the labelled reasons
(target >= 0.95).
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from streams.bench import benchmark
from streams.bench.detect import API_RATE_PER_MINUTE, poller_settings
from streams.bench.pipeline import bench_broker
from streams.directory import load_directory, read_directory_file
from streams.events.topics import DIRECTORY
from streams.kafkaio import ensure_topics
from streams.kafkaio.security import KafkaSecurity
from streams.poller.collect import RESTATEMENT_DAYS
from streams.poller.loop import PollerRunner
from streams.simulator import RunningSimulator, SimConfig, start_simulator
from streams.worker_process import WorkerProcess, worker_environment

START_DATE = date(2026, 11, 20)
WINDOW_DAYS = 7
LABELLED = {
    **dict.fromkeys(("UNMANAGED_IDENTITY", "PERSONAL_DOMAIN", "DEPROVISIONED_ACTIVE",
                     "PERSONAL_CREDENTIAL_CONNECTOR", "SPEND_LIMIT_NEAR", "SSO_BYPASS_LOGIN",
                     "PRIVILEGE_GRANTED"), "users"),
    "PERSONAL_INVITE": "invites",
    **dict.fromkeys(("ADMIN_CREDENTIAL_CREATED", "ORPHANED_CREDENTIAL"), "keys"),
}
"""Each labelled reason → the list of ``/_sim/truth`` that holds its subjects."""
OWN_SUBJECTS = frozenset(reason for reason, subjects in LABELLED.items() if subjects != "users")
"""Reasons raised on a subject of its own (an invitation, a key), not on a member."""
SAMPLE = 5
ACTIVITIES_PER_MEMBER = 0.2
"""Feed activities recorded besides the churn each round, per member."""
SPEND_LIMIT_SHARE = 0.3
SETTLE_TIMEOUT_SECONDS = 300.0
QUIET_CHECKS = 4


def score(fired: set[str], labelled: set[str]) -> dict[str, Any]:
    """Precision and recall of the subjects ``fired`` for a reason against the ``labelled``
    (with up to ``SAMPLE`` of the unlabelled alerts and of the labelled subjects missed)."""
    hits = len(fired & labelled)
    result: dict[str, Any] = {
        "open": len(fired),
        "labelled": len(labelled),
        "precision": round(hits / len(fired), 4) if fired else 1.0,
        "recall": round(hits / len(labelled), 4) if labelled else 1.0,
    }
    for name, ids in (("unlabelled", fired - labelled), ("missed", labelled - fired)):
        if ids:
            result[name] = sorted(ids)[:SAMPLE]
    return result


def scored(truth: dict[str, Any], fired: dict[str, set[str]]) -> dict[str, dict[str, Any]]:
    """``score`` of every labelled reason: the subjects with an open alert for it against
    those whose ``risks`` in the truth name it."""
    return {
        reason: score(
            fired.get(reason, set()),
            {item["id"] for item in truth[subjects] if reason in item["risks"]},
        )
        for reason, subjects in LABELLED.items()
    }


async def _open_alerts(worker: WorkerProcess) -> dict[str, set[str]]:
    """Members with an open alert, per reason (current members only: ``/users``), and the
    invitations and keys with one."""
    members = {row["id"] for row in (await worker.get("/users", limit="10000")).json()["data"]}
    found: dict[str, set[str]] = {}
    for alert in (await worker.get("/alerts", state="open", limit="10000")).json()["data"]:
        if alert["user_id"] in members or alert["reason"] in OWN_SUBJECTS:
            found.setdefault(alert["reason"], set()).add(alert["user_id"])
    return found


async def _settled(worker: WorkerProcess, sim: RunningSimulator) -> dict[str, set[str]]:
    """The open alerts once the worker holds every member and they stop changing."""
    want = len((await sim.truth(usage="false"))["users"])
    last: dict[str, set[str]] | None = None
    quiet = 0
    async with asyncio.timeout(SETTLE_TIMEOUT_SECONDS):
        while quiet < QUIET_CHECKS:
            await asyncio.sleep(1.0)
            held = await worker.holds_members(want)
            current = await _open_alerts(worker)
            quiet = quiet + 1 if held and current == last else 0
            last = current
    assert last is not None
    return last


async def _load_directory(path: Path, org_id: str, bootstrap: str, prefix: str,
                          security: KafkaSecurity) -> None:
    await load_directory(bootstrap, DIRECTORY.name(prefix), read_directory_file(path, org_id),
                         prune=True, force=True, security=security)


async def _measure(bootstrap: str, security: KafkaSecurity, workdir: Path, users: int,
                   rounds: int, partitions: int) -> dict[str, Any]:
    directory = workdir / "directory.jsonl"
    sim = await start_simulator(
        SimConfig(), users=users, seed=11, start_date=START_DATE, directory_out=directory,
        spend_limit_share=SPEND_LIMIT_SHARE, spend_limits_rate=API_RATE_PER_MINUTE,
        analytics_rate=API_RATE_PER_MINUTE, admin_rate=API_RATE_PER_MINUTE,
        compliance_rate=API_RATE_PER_MINUTE,
    )
    first = await sim.truth(usage="false")
    org_id = first["organization_id"]
    since = connectors_read_since(date.fromisoformat(first["latest_analytics_date"]), rounds)
    prefix = f"alerts{uuid.uuid4().hex[:8]}."
    await ensure_topics(bootstrap, prefix, partitions, security=security)
    await _load_directory(directory, org_id, bootstrap, prefix, security)
    corporate = ",".join(first["corporate_domains"])
    env = worker_environment(
        bootstrap, prefix, f"alerts-{uuid.uuid4().hex[:8]}", workdir / "cache",
        partitions=partitions, extra={"CORPORATE_DOMAINS": corporate, **security.environment()},
    )
    worker = WorkerProcess(env, workdir / "logs", loglevel="warn")
    worker.start()
    settings = poller_settings(sim, bootstrap, prefix, partitions, 1.0, security, "roster",
                               ANALYTICS_POLL_SECONDS="1", COST_POLL_SECONDS="1",
                               SPEND_LIMITS_RATE_PER_MINUTE=str(API_RATE_PER_MINUTE),
                               REVISION_WINDOW_DAYS=str(WINDOW_DAYS),
                               CLAUDE_COMPLIANCE_API_KEY=sim.config.compliance_key,
                               ACTIVITY_POLL_SECONDS="1",
                               COMPLIANCE_RATE_PER_MINUTE=str(API_RATE_PER_MINUTE))
    task: asyncio.Task[None] | None = None
    try:
        await worker.wait_ready()
        async with PollerRunner(settings, quiet=True) as poller:
            task = asyncio.create_task(poller.run_forever())
            await _settled(worker, sim)
            churn = max(1, users // 100)
            for number in range(rounds):
                await sim.advance(days=1, add=churn, remove=churn, role_changes=churn,
                                  promotions=max(1, churn // 2),
                                  activities=round(users * ACTIVITIES_PER_MEMBER),
                                  seed=100 + number)
                await _load_directory(directory, org_id, bootstrap, prefix, security)
                await _settled(worker, sim)
            fired = await _settled(worker, sim)
            truth = await sim.truth(usage="false", since=since.isoformat())
            identities = (await worker.get("/identities", state="all", limit="10000")).json()
    finally:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        worker.stop()
        await sim.aclose()
    members = len(truth["users"])
    reasons = scored(truth, fired)
    open_identities = sum(1 for item in identities["data"] if item["reasons"])
    worst = min(min(r["precision"], r["recall"]) for r in reasons.values())
    return {
        "users": users,
        "members": members,
        "rounds": rounds,
        "reasons": reasons,
        "unlabelled": {"SPEND_SPIKE": len(fired.get("SPEND_SPIKE", set()))},
        "open_identities": open_identities,
        "findings_per_1000": round(1000 * open_identities / members, 1) if members else 0.0,
        "target": "precision and recall >= 0.95 for every labelled reason",
        "ratio": worst,
    }


def connectors_read_since(first_latest: date, rounds: int) -> date:
    """The first day whose connector analytics the poller read: the revision window of the
    baseline, then (from the first new day on) ``RESTATEMENT_DAYS`` back from the next day."""
    if not rounds:
        return first_latest - timedelta(days=WINDOW_DAYS - 1)
    return first_latest + timedelta(days=1) - timedelta(days=RESTATEMENT_DAYS - 1)


async def _run(users: int, rounds: int, partitions: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-alerts-") as temp:
        workdir = Path(temp)
        async with bench_broker(workdir) as (bootstrap, security, broker):
            result = await _measure(bootstrap, security, workdir, users, rounds, partitions)
    return {**result, "broker": broker}


@benchmark("alerts")
def alerts(users: int = 1000, rounds: int = 3, partitions: int = 2) -> dict[str, Any]:
    """Precision and recall of the open alerts per reason against the simulator's labels."""
    return asyncio.run(_run(users, rounds, partitions))
