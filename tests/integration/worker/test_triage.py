"""Triage end to end: the CLI publishes decisions, a real worker applies them; the same triage
state after a restart and after a rebuild under a new app id."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.events.records import DirectoryStatus, UserOp
from tests.fixtures.webhook import Receiver
from tests.fixtures.worker import (
    WorkerProcess,
    directory_record,
    image,
    produce,
    start_worker,
    user_event,
    worker_on,
)

pytestmark = pytest.mark.kafka

TOKEN = "triage-token-5"
PREFIX = f"tr{uuid.uuid4().hex[:8]}."
ENV = {"CORPORATE_DOMAINS": "acme.com"}
SNOOZE_SECONDS = 20


def scenario() -> list[Any]:
    return [
        directory_record("someone@acme.com", DirectoryStatus.ACTIVE),
        user_event(UserOp.SNAPSHOT, "user_pat", "Pat+x@GMAIL.com", baseline=True),
        user_event(UserOp.SNAPSHOT, "user_kim", "kim@acme.com", baseline=True),
    ]


async def cli(worker: WorkerProcess, *args: str) -> tuple[int, str]:
    """``claude-connector alerts ...`` against ``worker``: exit code and output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streams", "alerts", *args, "--worker", worker.url,
        env=worker.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


async def identities(worker: WorkerProcess, state: str = "all") -> dict[str, dict[str, Any]]:
    body = (await worker.get("/identities", state=state)).json()
    return {item["user_id"]: item for item in body["data"]}


def triage_of(found: dict[str, dict[str, Any]]) -> dict[tuple[str, str], tuple]:
    return {
        (user, alert["reason"]): (alert["alert_id"], alert["triage"], alert["triage_why"],
                                  alert["decision"] and alert["decision"]["event_id"])
        for user, item in found.items()
        for alert in item["alerts"]
        if alert["state"] == "OPENED"
    }


async def until_triage(worker: WorkerProcess, want: dict[tuple[str, str], str],
                       timeout: float = 45.0) -> dict[str, dict[str, Any]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    found: dict[str, dict[str, Any]] = {}
    while loop.time() < deadline:
        found = await identities(worker)
        states = {key: value[1] for key, value in triage_of(found).items()}
        if all(states.get(key) == status for key, status in want.items()):
            return found
        await asyncio.sleep(0.5)
    raise AssertionError(f"triage not reached: {triage_of(found)}")


@pytest.fixture(scope="module")
def worker(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, receiver: Receiver
           ) -> Iterator[WorkerProcess]:
    with worker_on(kafka_bootstrap, PREFIX, scenario(), f"tri-{uuid.uuid4().hex[:8]}",
                   Path(tmp_path_factory.mktemp("triage")), token=TOKEN,
                   env={**ENV, "ALERT_WEBHOOK_URL": receiver.url}) as process:
        yield process


async def test_decisions_life_cycle_survives_restart_and_rebuild(
    worker: WorkerProcess, kafka_bootstrap: str, tmp_path: Path, receiver: Receiver
):
    found = await until_triage(worker, {("user_pat", "UNMANAGED_IDENTITY"): "open",
                                        ("user_pat", "PERSONAL_DOMAIN"): "open",
                                        ("user_kim", "UNMANAGED_IDENTITY"): "open"})
    assert found["user_pat"]["reasons"] == ["PERSONAL_DOMAIN", "UNMANAGED_IDENTITY"]
    code, out = await cli(worker, "list")
    assert code == 0 and "Pat+x@GMAIL.com" in out and "2 identities" in out, out

    code, out = await cli(worker, "accept", "--user", "pat@gmail.com")
    assert code == 1 and "accept needs a reason" in out and "Traceback" not in out, out
    code, out = await cli(worker, "ack", "no-such-alert")
    assert code == 1 and "no open alert with id no-such-alert" in out, out

    unmanaged = next(a["alert_id"] for a in found["user_pat"]["alerts"]
                     if a["reason"] == "UNMANAGED_IDENTITY")
    assert (await cli(worker, "ack", unmanaged, "--by", "ana"))[0] == 0
    assert (await cli(worker, "accept", "--user", "PAT@gmail.com", "--reason", "contractor",
                      "--by", "ana"))[0] == 0
    moment = datetime.now(UTC) + timedelta(seconds=SNOOZE_SECONDS)
    until = moment.replace(microsecond=moment.microsecond // 1000 * 1000).isoformat()  # Avro ms
    code, out = await cli(worker, "snooze", "--user", "kim@acme.com", "--until", until)
    assert code == 0, out
    await until_triage(worker, {("user_pat", "UNMANAGED_IDENTITY"): "accepted",
                                ("user_pat", "PERSONAL_DOMAIN"): "accepted",
                                ("user_kim", "UNMANAGED_IDENTITY"): "snoozed"})
    assert await identities(worker, "open") == {}, "nothing left in the default view"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        sent = [orjson.loads(body) for _, body in receiver.received]
        decided = {(d["alert_id"], d["action"], d["decided_by"]) for d in sent if "action" in d}
        if (unmanaged, "ACK", "ana") in decided or loop.time() > deadline:
            break
        await asyncio.sleep(0.5)
    assert (unmanaged, "ACK", "ana") in decided, "decisions reach the webhook as their own type"
    assert any(d.get("state") == "OPENED" for d in sent), "next to the alert events"

    promoted = user_event(UserOp.UPDATED, "user_pat", "Pat+x@GMAIL.com", role="owner",
                          before=image("user_pat", "Pat+x@GMAIL.com"), poll=2)
    await produce(kafka_bootstrap, PREFIX, [promoted])
    found = await until_triage(worker, {("user_pat", "UNMANAGED_IDENTITY"): "reopened",
                                        ("user_pat", "PERSONAL_DOMAIN"): "reopened"})
    pat = found["user_pat"]
    assert pat["severity"] == "MEDIUM"
    assert {a["triage_why"] for a in pat["alerts"]} == {"severity rose from LOW to MEDIUM"}
    before = triage_of(found)

    kim = ("user_kim", "UNMANAGED_IDENTITY")

    def without_kim(found: dict[tuple[str, str], tuple]) -> dict[tuple[str, str], tuple]:
        return {key: value for key, value in found.items() if key != kim}

    worker.kill()
    worker.start()
    await worker.wait_ready()
    restarted = triage_of(await until_triage(worker, {key: value[1] for key, value in
                                                     without_kim(before).items()}))
    assert without_kim(restarted) == without_kim(before), "the same after a restart"
    snooze_over = datetime.now(UTC) >= datetime.fromisoformat(until)
    assert restarted[kim][1] in (("open", "snoozed") if snooze_over else ("snoozed",))

    rebuilt = start_worker(kafka_bootstrap, PREFIX, f"rebuild-{uuid.uuid4().hex[:8]}", tmp_path,
                           token=TOKEN, env=ENV)
    try:
        await rebuilt.wait_ready()
        await asyncio.sleep(max(0.0, (datetime.fromisoformat(until)
                                      - datetime.now(UTC)).total_seconds()))
        again = await until_triage(rebuilt, {**{k: v[1] for k, v in without_kim(before).items()},
                                             kim: "open"}, timeout=60)
        after = triage_of(again)
        assert after[kim][2] == f"snooze ended {until}", "the snooze ran out"
        assert without_kim(after) == without_kim(before), "the same after a rebuild"
    finally:
        rebuilt.stop()
