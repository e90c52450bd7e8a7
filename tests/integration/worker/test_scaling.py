"""Two workers with one app id share the partitions: a rebalance mid-stream loses nothing.

The second worker joins while usage deltas trickle in, so the first hands a partition over
between (or during) its batches: the table partition moves through its changelog and
consumption resumes from the committed offset. Each worker then holds one partition
(``scope=local``), and either one answers for every member (it asks the other with its own
token, once the other's ``/health`` showed it is a worker of the app id), with every delta
counted once.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest

from streams.events.records import UserOp
from streams.events.topics import SHADOW_IT_ALERTS
from streams.kafkaio import ensure_topics
from tests.fixtures.topics import read_topic
from tests.fixtures.worker import (
    WorkerProcess,
    directory_record,
    produce,
    start_worker,
    usage_delta,
    user_event,
    worker_process,
)

pytestmark = pytest.mark.kafka

MEMBERS = 40
DAYS = 60
CHUNK = 200
USD = 100_000_000  # micro-cents
TOKEN = "scaling-token-3"
WORKER_ENV = {"CORPORATE_DOMAINS": "acme.com", "SPEND_SPIKE_DAILY_USD": "100"}


def spend(member: int, day: int) -> int:
    """A day's spend: every seventh day of every third member is a spike."""
    return (150 if member % 3 == 0 and day % 7 == 0 else 1 + (member + day) % 5) * USD


async def test_a_second_worker_takes_over_a_partition_mid_stream(
    kafka_bootstrap: str, tmp_path: Path
):
    prefix = f"ws{uuid.uuid4().hex[:8]}."
    app_id = f"scale-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_bootstrap, prefix, 2)
    users = [f"user_{n:02d}" for n in range(MEMBERS)]
    await produce(kafka_bootstrap, prefix, [
        directory_record(f"{user}@acme.com") for user in users[::2]
    ] + [user_event(UserOp.SNAPSHOT, user, f"{user}@acme.com", baseline=True) for user in users])
    deltas = [
        usage_delta(user, date(2026, 9, 1) + timedelta(days=day), {"usd_micros": spend(n, day)})
        for day in range(DAYS)
        for n, user in enumerate(users)
    ]
    first = start_worker(kafka_bootstrap, prefix, app_id, tmp_path / "a", token=TOKEN,
                         env=WORKER_ENV)
    second = worker_process(kafka_bootstrap, prefix, app_id, tmp_path / "b", token=TOKEN,
                            env=WORKER_ENV)
    # The second worker advertises another name for itself than it binds: the first one must
    # reach it there (with --web-port on the command line, as WorkerProcess starts workers).
    advertised = f"http://localhost:{second.web_port}"
    second.env["WEB_ADVERTISED_URL"] = advertised
    try:
        await first.wait_ready()
        assert (await first.get("/users", token="wrong")).status_code == 401

        async def trickle() -> None:
            """The deltas in small steps over ~8 s: they flow while the second worker joins."""
            for start in range(0, len(deltas), CHUNK):
                await produce(kafka_bootstrap, prefix, deltas[start:start + CHUNK])
                await asyncio.sleep(0.5)

        flowing = asyncio.create_task(trickle())
        await asyncio.sleep(1.0)
        second.start()
        await second.wait_ready()
        assert (await second.get("/health")).json()["url"] == advertised
        await flowing

        async def shared() -> dict[str, dict]:
            answers = [(await worker.get("/users", scope="local")).json()
                       for worker in (first, second)]
            return {"partitions": [a["partitions"] for a in answers],
                    "users": {u["id"] for a in answers for u in a["data"]}}

        deadline = asyncio.get_running_loop().time() + 60
        while (state := await shared())["partitions"] not in ([[0], [1]], [[1], [0]]):
            assert asyncio.get_running_loop().time() < deadline, state
            await asyncio.sleep(0.5)
        assert state["users"] == set(users)
        for worker in (first, second):
            while not (merged := (await worker.get("/users")).json())["complete"]:
                assert asyncio.get_running_loop().time() < deadline, merged
                await asyncio.sleep(0.5)
            assert merged["partitions"] == [0, 1]
            assert [user["id"] for user in merged["data"]] == users
            assert (merged["count"], merged["total"]) == (MEMBERS, MEMBERS)
            window = (await worker.get("/users", limit="7", offset="10")).json()
            assert [user["id"] for user in window["data"]] == users[10:17]
            assert (window["count"], window["total"]) == (7, MEMBERS)

        want = {user: sum(spend(n, day) for day in range(DAYS)) for n, user in enumerate(users)}

        async def totals(worker: WorkerProcess) -> dict[str, int]:
            """Each member's spend as ``worker`` answers it (the other worker's members too,
            asked with the worker's own token)."""
            found = {}
            for user in users:
                response = await worker.get(f"/users/{user}")
                if response.status_code == 200:
                    usage = response.json()["data"]["usage"]["totals"]
                    found[user] = usage.get("COST", {}).get("usd_micros", 0)
            return found

        for worker in (first, second):
            while (found := await totals(worker)) != want:
                wrong = {user: (found.get(user), total) for user, total in want.items()
                         if found.get(user) != total}
                assert asyncio.get_running_loop().time() < deadline + 30, wrong
                await asyncio.sleep(0.5)

        # The insights and /users add up both workers' members the same way.
        last_day = date(2026, 9, 1) + timedelta(days=DAYS - 1)
        per_day = {
            (date(2026, 9, 1) + timedelta(days=day)).isoformat():
                {"all": round(sum(spend(n, day) for n in range(MEMBERS)) / USD, 2)}
            for day in range(DAYS)
        }
        top = sorted(want.items(), key=lambda item: (-item[1], item[0]))[:10]
        for worker in (first, second):
            body = (await worker.get("/insights", days=str(DAYS),
                                     until=last_day.isoformat())).json()
            figures = body["data"]
            assert body["complete"] and body["partitions"] == [0, 1]
            assert figures["spend_usd_by_day"] == per_day
            assert figures["seats"]["members"] == figures["seats"]["active"] == MEMBERS
            assert figures["active_by_day"][last_day.isoformat()] == {"any": MEMBERS}
            assert [(s["id"], s["spend_usd"]) for s in figures["top_spenders"]] == [
                (user, round(total / USD, 2)) for user, total in top]
            by_spend = (await worker.get("/users", sort="spend")).json()
            assert [(u["id"], u["spend_usd"]) for u in by_spend["data"]] == [
                (user, round(total / USD, 2))
                for user, total in sorted(want.items(), key=lambda item: (-item[1], item[0]))]
    finally:
        first.stop()
        second.stop()

    ids: dict[str, dict[tuple[str, str], set[str]]] = {"OPENED": {}, "RESOLVED": {}}
    for message in await read_topic(kafka_bootstrap, SHADOW_IT_ALERTS.name(prefix)):
        value = message.value
        ids[value["state"]].setdefault((value["user_id"], value["reason"]), set()).add(
            value["event_id"]
        )
    unmanaged = {(user, "UNMANAGED_IDENTITY") for user in users[1::2]}
    spikes = {(user, "SPEND_SPIKE") for n, user in enumerate(users) if n % 3 == 0}
    assert set(ids["OPENED"]) == unmanaged | spikes
    for pair, opened in ids["OPENED"].items():
        assert len(opened) == len(ids["RESOLVED"].get(pair, ())) + 1, pair
