"""History from a real poller on a simulated org: tail, replay, the roster as of each day, rebuild.

The module polls a simulator once per simulated day (baseline, then three days of churn) into
its own topic prefix; events carry ``observed_at`` = the simulator's time. The tests read that
history back through the ``tail`` / ``replay`` commands and rebuild the worker's tables from it
under a new app id.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.config import Settings
from streams.events.codec import encode
from streams.events.records import UserOp
from streams.localkafka import free_port
from streams.poller.loop import PollerRunner
from streams.simulator import SimConfig, start_simulator
from streams.simulator.org import CORPORATE_DOMAINS
from streams.worker_process import WorkerProcess, worker_environment
from tests.fixtures.simulator import SIM_TODAY
from tests.fixtures.topics import read_topic
from tests.fixtures.waiting import eventually
from tests.fixtures.worker import produce_raw, user_event

pytestmark = pytest.mark.kafka

PARTITIONS = 2
DAYS = 3


@dataclass(frozen=True)
class Day:
    """One simulated day: when it was polled and the simulator's roster then."""

    polled_at: datetime
    roster: dict[str, tuple[str, str]]


@dataclass(frozen=True)
class History:
    bootstrap: str
    prefix: str
    org_id: str
    days: list[Day]

    @property
    def env(self) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, "TOPIC_PREFIX": self.prefix,
                "TOPIC_PARTITIONS": str(PARTITIONS)}


@pytest.fixture(scope="module")
def history(kafka_bootstrap: str) -> History:
    """Poll a simulated org once per simulated day, with churn between the days."""
    prefix = f"hist{uuid.uuid4().hex[:8]}."

    async def build() -> History:
        simulator = await start_simulator(
            SimConfig(users=120, seed=17, start_date=SIM_TODAY, analytics_rate=3000,
                      admin_rate=3000)
        )
        settings = Settings.load({
            "CLAUDE_API_BASE_URL": simulator.url,
            "CLAUDE_ANALYTICS_API_KEY": simulator.config.analytics_key,
            "CLAUDE_ADMIN_API_KEY": simulator.config.admin_key,
            "CONNECTOR_NAME": "acme",
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "TOPIC_PREFIX": prefix,
            "TOPIC_PARTITIONS": str(PARTITIONS),
            "ANALYTICS_RATE_PER_MINUTE": "3000",
            "ADMIN_RATE_PER_MINUTE": "3000",
            "REVISION_WINDOW_DAYS": "2",
        })
        days = []
        try:
            async with PollerRunner(settings, quiet=True) as runner:
                for day in range(DAYS + 1):
                    if day:
                        await simulator.advance(days=1, add=6, remove=4, role_changes=3)
                    (report,) = await runner.run_once()
                    assert report.completed, report.reason
                    truth = await simulator.truth(usage="false")
                    days.append(Day(
                        datetime.fromisoformat(truth["now"].replace("Z", "+00:00")),
                        {user["id"]: (user["email"], user["role"]) for user in truth["users"]},
                    ))
        finally:
            await simulator.aclose()
        return History(kafka_bootstrap, prefix, truth["organization_id"], days)

    return asyncio.run(build())


def cli(history: History, *args: str) -> list[dict[str, Any]]:
    """Run a command and return its JSON lines."""
    result = CliRunner().invoke(main, list(args), env=history.env)
    assert result.exit_code == 0, result.output
    return [orjson.loads(line) for line in result.stdout.splitlines() if line.strip()]


def end_of(moment: datetime) -> str:
    return datetime.combine(moment.date(), datetime.max.time(), UTC).isoformat()


def test_the_roster_as_of_each_simulated_day_is_the_simulators_truth(history: History):
    rosters = [day.roster for day in history.days]
    assert all(a != b for a, b in pairwise(rosters)), "churn every day"
    for day in history.days:
        rows = cli(history, "replay", "--as-of", end_of(day.polled_at), "users")
        assert {row["user_id"]: (row["email"], row["role"]) for row in rows} == day.roster
        assert {row["org_id"] for row in rows} == {history.org_id}
    before = history.days[0].polled_at - timedelta(seconds=1)
    assert cli(history, "replay", "--as-of", before.isoformat(), "users") == []
    assert cli(history, "replay", "--as-of", end_of(history.days[-1].polled_at), "users",
               "--org", "someone-else") == []


async def test_tail_and_replay_print_the_decoded_history(history: History):
    topic = f"{history.prefix}user-events"
    everything = await read_topic(history.bootstrap, topic)
    lines = await asyncio.to_thread(cli, history, "tail", "user-events", "--from-beginning")
    assert len(lines) == len(everything)
    assert {line["value"]["event_id"] for line in lines} == {
        m.value["event_id"] for m in everything
    }
    assert all(line["type"] == "com.claudeconnector.events.UserEvent" for line in lines)
    assert all(line["headers"]["ce_id"] == line["value"]["event_id"] for line in lines)

    newest = await asyncio.to_thread(cli, history, "tail", topic, "-n", "5")
    assert len(newest) == 5
    stamps = [(line["timestamp"], line["partition"], line["offset"]) for line in lines]
    assert [(line["timestamp"], line["partition"], line["offset"]) for line in newest] == sorted(
        stamps
    )[-5:]

    first, second = history.days[1].polled_at, history.days[2].polled_at
    window = await asyncio.to_thread(
        cli, history, "replay", "--topic", "user-events", "--from", first.isoformat(),
        "--to", end_of(second), "--org", history.org_id,
    )
    expected = {
        line["value"]["event_id"] for line in lines
        if first.isoformat() <= line["value"]["observed_at"].replace("Z", "+00:00")
        <= end_of(second)
    }
    assert {line["value"]["event_id"] for line in window} == expected
    assert {line["value"]["op"] for line in window} == {"ADDED", "REMOVED", "UPDATED"}
    partition = await asyncio.to_thread(
        cli, history, "replay", "--topic", topic, "--from", "3", "--partition", "1"
    )
    assert partition and {line["partition"] for line in partition} == {1}
    assert min(line["offset"] for line in partition) >= 3
    assert await asyncio.to_thread(
        cli, history, "replay", "--topic", "user-events", "--org", "nobody"
    ) == []


SIGINT_DEFAULT_EXEC = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)
"""Run Python with the rest of the arguments, SIGINT set back to its default first."""


async def test_tail_follows_new_messages_and_shows_undecodable_ones(
    history: History, new_topic, tmp_path: Path
):
    topic = await new_topic("follow")
    first = user_event(UserOp.ADDED, "user_a", "a@acme.com")
    await produce_raw(history.bootstrap, topic, b"org_test:user_a", encode(first))
    env = {**os.environ, **history.env}
    # Started as from a terminal, where Ctrl-C reaches it: a child inherits an ignored SIGINT
    # (the suite's process ignores it at times, as ``system()`` does while its child runs),
    # and Python then leaves it ignored.
    process = subprocess.Popen(
        [sys.executable, "-c", SIGINT_DEFAULT_EXEC, "-m", "streams", "tail", topic, "--follow"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.to_thread(process.stdout.readline)
        assert orjson.loads(line)["value"]["event_id"] == first.event_id
        await produce_raw(history.bootstrap, topic, b"org_test:user_b", b"\x00garbage")
        line = orjson.loads(await asyncio.to_thread(process.stdout.readline))
        assert line["key"] == "org_test:user_b"
        assert line["error"].startswith("MalformedMessage")
        assert line["value_base64"] == "AGdhcmJhZ2U="
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, errors = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            # Say how the process stood towards SIGINT (pending, blocked, ignored, caught).
            status = Path(f"/proc/{process.pid}/status").read_text()
            process.kill()
            process.communicate()
            raise AssertionError(
                "tail --follow did not stop on SIGINT: "
                + " ".join(line for line in status.splitlines() if line.startswith("Sig"))
            ) from None
    assert process.returncode == 0, errors.decode()


async def test_a_rebuild_under_a_new_app_id_gives_identical_tables(
    history: History, tmp_path: Path
):
    env = worker_environment(
        history.bootstrap, history.prefix, f"orig-{uuid.uuid4().hex[:8]}", tmp_path / "cache",
        partitions=PARTITIONS, extra={"CORPORATE_DOMAINS": ",".join(CORPORATE_DOMAINS)},
    )
    original = WorkerProcess(env, tmp_path / "original")
    original.start()
    port = free_port()
    rebuilt_id = f"rebuilt-{uuid.uuid4().hex[:8]}"
    rebuild = None
    try:
        await original.wait_ready()
        members = len(history.days[-1].roster)

        async def tables(url: str) -> tuple[Any, Any] | None:
            async with httpx.AsyncClient(timeout=10) as http:
                users = (await http.get(f"{url}/users", params={"status": "all",
                                                                  "limit": "10000"})).json()
                alerts = (await http.get(f"{url}/alerts", params={"limit": "10000"})).json()
            current = sum(1 for user in users["data"] if user["status"] == "member")
            return (users["data"], comparable(alerts["data"])) if current == members else None

        async def settled() -> tuple[Any, Any] | None:
            """The original's tables once every topic is applied: the same on two reads."""
            first = await tables(original.url)
            await asyncio.sleep(2)
            return first if first is not None and first == await tables(original.url) else None

        want = await eventually(settled, timeout=90)
        assert want[1], "the history raises alerts"

        used = await asyncio.to_thread(
            CliRunner().invoke, main, ["replay", "--rebuild", "--app-id", env["WORKER_APP_ID"]],
            env=history.env,
        )
        assert used.exit_code != 0 and "was used before" in used.output

        with open(tmp_path / "rebuild.log", "wb") as log:
            rebuild = subprocess.Popen(
                [sys.executable, "-m", "streams", "replay", "--rebuild", "--app-id", rebuilt_id,
                 "--web-port", str(port)],
                env={**env, "WORKER_APP_ID": "ignored-by-rebuild"}, stdout=log,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"

        async def difference() -> str | None:
            try:
                got = await tables(url)
            except httpx.HTTPError as exc:
                return f"the rebuilding worker does not answer yet: {exc!r}"
            return None if got == want else describe_difference(got, want)

        await eventually(difference, timeout=90, until=lambda found: found is None)
        assert await tables(original.url) == want, "the original worker changed meanwhile"
    finally:
        original.stop()
        if rebuild is not None:
            rebuild.terminate()
            rebuild.wait(timeout=30)
    assert rebuild.returncode in (0, -signal.SIGTERM), (tmp_path / "rebuild.log").read_text()


def comparable(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alerts in a fixed order, every field kept: a rebuild names, dates and evidences each
    alert as the alerts topic has it, whichever input topic it applied first."""
    return sorted(alerts, key=lambda alert: orjson.dumps(alert, option=orjson.OPT_SORT_KEYS))


def describe_difference(got: tuple[Any, Any] | None, want: tuple[Any, Any]) -> str:
    """The first differences between rebuilt and original tables, for the failure message."""
    if got is None:
        return "the rebuilt users table does not have every member yet"
    lines = []
    for name, rebuilt, original in zip(("users", "alerts"), got, want, strict=True):
        keys = [orjson.dumps(row, option=orjson.OPT_SORT_KEYS) for row in rebuilt]
        wanted = [orjson.dumps(row, option=orjson.OPT_SORT_KEYS) for row in original]
        lines += [f"{name} only rebuilt: {row.decode()}" for row in keys if row not in wanted][:3]
        lines += [f"{name} only original: {row.decode()}" for row in wanted if row not in keys][:3]
    return "\n".join(lines) or "same rows, different order"
