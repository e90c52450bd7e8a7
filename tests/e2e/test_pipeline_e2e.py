"""End to end: simulator → directory load → poller → Kafka → a real worker → views and alerts.

The simulator writes its managed-identity directory; the test loads it, polls the simulated
organisation with the real poller, and a worker subprocess folds the topics. After the baseline
and after each churn step the worker must agree exactly with the simulator's ground truth:

- ``/users`` is the truth roster (id, e-mail, role);
- ``/alerts?state=open`` and the alert topic hold exactly the expected open alerts, derived
  independently of the worker: UNMANAGED_IDENTITY for ``managed=false``, PERSONAL_DOMAIN for
  ``personal_domain``, DEPROVISIONED_ACTIVE for a deprovisioned member (all from
  ``/_sim/truth``), PERSONAL_CREDENTIAL_CONNECTOR for a member with a connector association
  authorised by their own credential on a connector the org runs on managed auth (the
  truth's ``managed_connectors``, configured as ``MANAGED_CONNECTORS``), and SPEND_SPIKE
  (absolute threshold only; the relative rule is off here) for a member whose summed COST
  deltas exceed the threshold on a day within the 7 days ending at their newest cost day
  (both from the topics), SPEND_LIMIT_NEAR for a member whose spend so far reached 0.8 of
  the limit the simulator drew for them, and PERSONAL_INVITE for a pending invitation the
  simulator drew to a personal mail domain (both from ``/_sim/truth``);
- each open alert's severity: exactly the rules table's for UNMANAGED_IDENTITY, PERSONAL_DOMAIN
  and PERSONAL_CREDENTIAL_CONNECTOR (MEDIUM, one higher for an admin-class role in the truth or
  a spend exposure the alert's evidence names, one lower for baseline) and SPEND_SPIKE (HIGH
  when the newest spiking day on the usage topic is above twice the threshold, else MEDIUM;
  one lower for baseline); DEPROVISIONED_ACTIVE, SPEND_LIMIT_NEAR and PERSONAL_INVITE only
  within the severities their rule can give (``SEVERITIES``);
- every member's usage totals equal the sums of the usage-delta topic, and the recent days
  equal the API's figures in the truth;
- no alert was ever raised that the truth did not call for (no transient alerts), none twice;
- in the end the worker has committed every offset of the per-member topics.

The churn is applied in the order a company works: new hires enter the directory before they
join Claude; leavers are removed from Claude, then deprovisioned in the directory.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.config import Settings
from streams.directory import load_directory, read_directory_file
from streams.events.topics import DIRECTORY
from streams.kafkaio import ensure_topics
from streams.kafkaio.reader import topic_ends
from streams.poller.loop import PollerRunner
from streams.worker.barrier import committed_offsets
from streams.worker.rules import MICRO_CENTS_PER_USD, SPIKE_WINDOW_DAYS
from streams.worker_process import WorkerProcess
from tests.fixtures.topics import Message, read_topic
from tests.fixtures.waiting import eventually
from tests.fixtures.worker import start_worker

pytestmark = pytest.mark.kafka

USERS = 300
SEED = 42
UNMANAGED_FRACTION = 0.12
SPEND_SPIKE_USD = 6.0
PARTITIONS = 2
WINDOW_DAYS = 3
SETTLE_SECONDS = 60.0
IDLE_DAYS = 2
ACTIVITY = ("message_count", "session_count", "total_tokens")

Pair = tuple[str, str]

FEED_AND_KEY_RULES = ("SSO_BYPASS_LOGIN", "PRIVILEGE_GRANTED", "ADMIN_CREDENTIAL_CREATED",
                      "ORPHANED_CREDENTIAL")
SEVERITIES = {
    "DEPROVISIONED_ACTIVE": {"HIGH", "CRITICAL"},  # CRITICAL once they also used Claude
    "SPEND_LIMIT_NEAR": {"LOW", "MEDIUM"},  # MEDIUM once the limit is reached
    "PERSONAL_INVITE": {"LOW", "MEDIUM", "HIGH"},
}
"""The severities allowed for the rules whose severity the test does not derive exactly."""
LEVELS = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
ADMIN_ROLES = {"owner", "primary_owner", "admin", "membership_admin"}
EXPOSURE_RAISES = {"UNMANAGED_IDENTITY", "PERSONAL_DOMAIN", "PERSONAL_CREDENTIAL_CONNECTOR"}
"""Rules at MEDIUM, one level higher for an exposed member (the README's rules table; every
personal domain the simulator draws is a known personal mail provider)."""
CHECKED_RULES = EXPOSURE_RAISES | {"SPEND_SPIKE"} | set(SEVERITIES)
"""Every rule this test raises (the feed and key rules are off: ``FEED_AND_KEY_RULES``)."""
SPEND_LIMIT_SHARE = 0.3


def settled(difference: str | None) -> bool:
    """No difference left."""
    return difference is None


def graded(base: str, *, raised: bool, lowered: bool) -> str:
    """``base`` one level up when ``raised``, one down when ``lowered``; never below LOW."""
    return LEVELS[max(0, min(LEVELS.index(base) + raised - lowered, len(LEVELS) - 1))]


def expected_severity(
    alert: dict[str, Any], roles: dict[str, str], spikes: dict[str, int]
) -> str | None:
    """The severity the README's rules table gives ``alert`` (None: not derived exactly).

    Exposure by role comes from the truth's roster; exposure by spend from the alert's
    evidence (``recent_spend_usd``); ``baseline`` from the alert (the caller checks it against
    the truth for the identity rules); a spike's level from the newest spiking day's cost.
    """
    reason, lowered = alert["reason"], alert["baseline"]
    if reason in EXPOSURE_RAISES:
        role = roles.get(alert["user_id"], "")
        exposed = role in ADMIN_ROLES or "recent_spend_usd" in alert["evidence"]
        return graded("MEDIUM", raised=exposed, lowered=lowered)
    if reason == "SPEND_SPIKE":
        far_above = spikes.get(alert["user_id"], 0) > 2 * SPEND_SPIKE_USD * MICRO_CENTS_PER_USD
        return graded("HIGH" if far_above else "MEDIUM", raised=False, lowered=lowered)
    return None


def difference(name: str, got: Any, want: Any) -> str | None:
    if got == want:
        return None
    if isinstance(got, set) and isinstance(want, set):
        return f"{name}: extra {sorted(got - want)[:5]}, missing {sorted(want - got)[:5]}"
    if isinstance(got, dict) and isinstance(want, dict):
        differing = sorted(key for key in got.keys() | want.keys() if got.get(key) != want.get(key))
        return f"{name}: " + ", ".join(
            f"{key}: got {got.get(key)!r}, want {want.get(key)!r}" for key in differing[:5])
    return f"{name}: got {got!r:.300}, want {want!r:.300}"


class Pipeline:
    """The parts of one run: simulator, settings, poller, worker, and what the topics say."""

    def __init__(self, sim: Any, bootstrap: str, settings: Settings, worker: WorkerProcess,
                 directory_file: Path) -> None:
        self.sim = sim
        self.bootstrap = bootstrap
        self.settings = settings
        self.worker = worker
        self.directory_file = directory_file
        self.directory_records = 0
        self.expected_history: set[Pair] = set()
        self.baseline_users: set[str] = set()

    async def load_directory(self, org_id: str) -> None:
        """``claude-connector directory load``'s library call; then wait until it is applied."""
        result = await load_directory(
            self.bootstrap,
            DIRECTORY.name(self.settings.topic_prefix),
            read_directory_file(self.directory_file, org_id),
        )
        self.directory_records += result.published
        want = self.directory_records * PARTITIONS
        pattern = re.compile(r'directory-fanout"\} (\d+)')

        async def applied() -> str | None:
            found = pattern.search((await self.worker.get("/metrics")).text)
            got = int(found.group(1)) if found else 0
            return None if got >= want else f"directory copies applied: {got} of {want}"

        await eventually(applied, SETTLE_SECONDS, until=settled)

    async def poll(self) -> None:
        async with PollerRunner(self.settings, quiet=True) as runner:
            (report,) = await runner.run_once()
        assert report.completed, report.reason

    async def topic(self, name: str) -> list[Message]:
        return await read_topic(self.bootstrap, self.settings.topic(name))

    async def expected_alerts(self, truth: dict[str, Any]) -> set[Pair]:
        """The open alerts the truth and the input topics call for (see the module docstring)."""
        members = {user["id"] for user in truth["users"]}
        managed_auth = set(truth["managed_connectors"])
        expected: set[Pair] = set()
        for user in truth["users"]:
            if not user["managed"]:
                expected.add((user["id"], "UNMANAGED_IDENTITY"))
            if user["personal_domain"]:
                expected.add((user["id"], "PERSONAL_DOMAIN"))
            if user["deprovisioned"]:
                expected.add((user["id"], "DEPROVISIONED_ACTIVE"))
            if "SPEND_LIMIT_NEAR" in user["risks"]:
                expected.add((user["id"], "SPEND_LIMIT_NEAR"))
        for invite in truth["invites"]:
            if "PERSONAL_INVITE" in invite["risks"]:
                expected.add((invite["id"], "PERSONAL_INVITE"))
        for message in await self.topic("app-associations"):
            value = message.value
            personal = (value["kind"], value["auth"]) == ("CONNECTOR", "PERSONAL_CREDENTIAL")
            if personal and value["user_id"] in members and value["name"] in managed_auth:
                expected.add((value["user_id"], "PERSONAL_CREDENTIAL_CONNECTOR"))
        spiking = await self.spikes()
        expected |= {(user_id, "SPEND_SPIKE") for user_id in spiking if user_id in members}
        return expected

    async def spikes(self) -> dict[str, int]:
        """user → the cost (micro-cents) of their newest day above the threshold within the
        spike window ending at their newest cost day, for the members with such a day."""
        found = {}
        for user_id, days in (await self.cost_per_day()).items():
            newest = max(days)
            window = [day for day in days if day > newest - timedelta(days=SPIKE_WINDOW_DAYS)]
            spiking = [day for day in window if days[day] > SPEND_SPIKE_USD * MICRO_CENTS_PER_USD]
            if spiking:
                found[user_id] = days[max(spiking)]
        return found

    async def delta_sums(self) -> dict[str, dict[tuple[date, str], dict[str, int]]]:
        """user → (day, family) → metric → sum of the deltas on the usage topic."""
        sums: dict[str, dict[tuple[date, str], dict[str, int]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(int))
        )
        for message in await self.topic("usage-deltas"):
            value = message.value
            for metric, delta in value["delta"].items():
                sums[value["user_id"]][(value["day"], value["family"])][metric] += delta
        return sums

    async def cost_per_day(self) -> dict[str, dict[date, int]]:
        """user → day → USD micro-cents, from the COST deltas (the poller's ``usd_micros``)."""
        return {
            user_id: {
                day: metrics["usd_micros"]
                for (day, family), metrics in per_key.items()
                if family == "COST"
            }
            for user_id, per_key in (await self.delta_sums()).items()
            if any(family == "COST" for _, family in per_key)
        }

    async def check(self, phase: str) -> set[Pair]:
        """The worker agrees with the truth (see the module docstring); the expected alerts."""
        truth = await self.sim.truth()
        expected = await self.expected_alerts(truth)
        self.expected_history |= expected
        roster = {user["id"]: (user["email"], user["role"]) for user in truth["users"]}
        roles = {user["id"]: user["role"] for user in truth["users"]}
        spikes = await self.spikes()

        async def views_agree() -> str | None:
            users = (await self.worker.get("/users")).json()
            shown = {u["id"]: (u["email"], u["role"]) for u in users["data"]}
            alerts = (await self.worker.get("/alerts", state="open")).json()
            opened = {(a["user_id"], a["reason"]) for a in alerts["data"]}
            graded_as = {(a["user_id"], a["reason"]): a["severity"] for a in alerts["data"]}
            derived = {
                (a["user_id"], a["reason"]): expected_severity(a, roles, spikes)
                for a in alerts["data"]
            }
            return (
                difference(f"{phase} /users", shown, roster)
                or difference(f"{phase} /alerts", opened, expected)
                or difference(f"{phase} severities",
                              {pair: graded_as[pair] for pair, want in derived.items() if want},
                              {pair: want for pair, want in derived.items() if want})
                or (None if users["complete"] and alerts["complete"] else "views incomplete")
            )

        await eventually(views_agree, SETTLE_SECONDS, until=settled)
        alerts = (await self.worker.get("/alerts", state="open")).json()["data"]
        for alert in alerts:
            assert alert["email"], alert
            derived = expected_severity(alert, roles, spikes)
            if derived is None:
                assert alert["severity"] in SEVERITIES[alert["reason"]], alert
            else:
                assert alert["severity"] == derived, alert
            if alert["reason"] in ("UNMANAGED_IDENTITY", "PERSONAL_DOMAIN"):
                assert alert["baseline"] is (alert["user_id"] in self.baseline_users), alert
        await self.check_alert_topic(expected)
        await self.check_usage(truth)
        await self.check_insights(truth)
        return expected

    async def check_insights(self, truth: dict[str, Any]) -> None:
        """``/insights`` over the polled days equals the truth: spend and active members per
        day, active members by surface (a member counts for the surfaces the association
        topic says they had used by that day), seats (pending invitations as the invites
        topic last says), adoption and the idle members."""
        today = date.fromisoformat(truth["now"][:10])
        first = today - timedelta(days=WINDOW_DAYS - 1)
        days = [(first + timedelta(days=n)).isoformat() for n in range(WINDOW_DAYS)]
        usage = (await self.sim.truth(since=days[0], until=days[-1]))["usage"]
        surfaces: dict[str, dict[str, str]] = defaultdict(dict)
        for message in await self.topic("app-associations"):
            value = message.value
            if value["kind"] == "SURFACE":
                seen = value["first_seen"].isoformat()
                known = surfaces[value["user_id"]].get(value["name"], seen)
                surfaces[value["user_id"]][value["name"]] = min(known, seen)
        invitations = {}
        for message in await self.topic("invites"):
            value = message.value
            invitations[value["invite_id"]] = (
                "removed" if value["op"] == "REMOVED" else value["invite"]["status"])
        spend = {day: 0 for day in days}
        active: dict[str, dict[str, int]] = {day: {"any": 0} for day in days}
        active_users = set()
        for user_id, per_day in usage.items():
            for day, figures in per_day.items():
                spend[day] += int(Decimal(figures.get("cost_cents", "0")) * 1_000_000)
                if active_on(figures):
                    active_users.add(user_id)
                    counts = active[day]
                    counts["any"] += 1
                    for surface, since in surfaces[user_id].items():
                        if str(since) <= day:
                            counts[surface] = counts.get(surface, 0) + 1
        members = {user["id"]: user for user in truth["users"]}
        recent = days[-IDLE_DAYS:]
        idle = {
            user_id for user_id, user in members.items()
            if user["added_at"][:10] < recent[0]
            and not any(active_on(usage.get(user_id, {}).get(day, {})) for day in recent)
        }
        want = {
            "spend": {day: round(micros / MICRO_CENTS_PER_USD, 2) for day, micros in spend.items()},
            "active": active,
            "seats": (len(members), len(active_users & set(members)), len(idle),
                      sum(status == "pending" for status in invitations.values())),
            "idle": idle,
        }

        def summed(series: dict[str, float], expected: float) -> float:
            """A day's spend over its product series (each rounded to the cent)."""
            total = sum(series.values())
            return expected if abs(total - expected) <= 0.01 * len(series) else round(total, 2)

        async def insights_agree() -> str | None:
            body = (await self.worker.get("/insights", days=str(WINDOW_DAYS),
                                          until=days[-1])).json()
            data = body["data"]
            seats = data["seats"]
            got = {
                "spend": {day: summed(series, want["spend"].get(day, 0)) for day, series in
                          data["spend_usd_by_day"].items()},
                "active": data["active_by_day"],
                "seats": (seats["members"], seats["active"], seats["idle"],
                          seats["pending_invites"]),
                "idle": {seat["id"] for seat in data["idle_seats"]},
            }
            return (None if body["complete"] else "insights incomplete") or next(
                (difference(f"/insights {name}", got[name], want[name])
                 for name in want if got[name] != want[name]), None)

        await eventually(insights_agree, SETTLE_SECONDS, until=settled)

    async def check_alert_topic(self, expected: set[Pair]) -> None:
        """Folding the alert topic gives ``expected``; nothing else was ever raised or doubled."""
        events = await self.topic("shadow-it-alerts")
        ids = [event.value["event_id"] for event in events]
        assert len(ids) == len(set(ids)), "an alert event was published twice"
        states: dict[Pair, list[str]] = defaultdict(list)
        for event in sorted(events, key=lambda e: e.offset):
            value = event.value
            states[(value["user_id"], value["reason"])].append(value["state"])
            assert event.key == f"{value['org_id']}:{value['user_id']}"
        for pair, sequence in states.items():
            assert sequence == ["OPENED", "RESOLVED"] * (len(sequence) // 2) + ["OPENED"] * (
                len(sequence) % 2
            ), (pair, sequence)
        open_now = {pair for pair, sequence in states.items() if sequence[-1] == "OPENED"}
        assert open_now == expected
        assert set(states) == self.expected_history, "an alert the truth never called for"

    async def check_usage(self, truth: dict[str, Any]) -> None:
        """Every member's totals equal the delta sums; recent days equal the API's figures."""
        sums = await self.delta_sums()
        today = date.fromisoformat(truth["now"][:10])
        window = {today - timedelta(days=back) for back in range(WINDOW_DAYS)}
        async with httpx.AsyncClient(base_url=self.worker.url, timeout=10.0) as client:
            for user in truth["users"]:
                detail = (await client.get(f"/users/{user['id']}")).json()["data"]
                totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
                limits: dict[date, dict[str, int]] = {}
                for (day, family), metrics in sums.get(user["id"], {}).items():
                    if family == "SPEND_LIMIT":  # not usage: the newest reading is shown
                        limits[day] = metrics
                        continue
                    for metric, value in metrics.items():
                        totals[family][metric] += value
                assert nonzero(detail["usage"]["totals"]) == nonzero(totals), user["id"]
                newest = limits[max(limits)] if limits else {}
                shown_limits = detail["spend_limits"].get("periods", {}).get("monthly", {})
                assert shown_limits.get("spent_usd", 0) == round(
                    newest.get("monthly.spend_micros", 0) / MICRO_CENTS_PER_USD, 2
                ), user["id"]
                limit = newest.get("monthly.limit_micros")
                assert shown_limits.get("limit_usd") == (
                    None if not limit else round(limit / MICRO_CENTS_PER_USD, 2)
                ), user["id"]
                for day, figures in truth["usage"].get(user["id"], {}).items():
                    shown = detail["usage"]["days"].get(day, {})
                    if date.fromisoformat(day) not in window or "cost_cents" not in figures:
                        continue
                    micros = int(Decimal(figures["cost_cents"]) * 1_000_000)
                    assert shown["COST"]["totals"]["usd_micros"] == micros, (user["id"], day)
                    assert shown["TOKENS"]["totals"]["total"] == figures["total_tokens"]


async def uncommitted(bootstrap: str, settings: Settings, group: str) -> str | None:
    """What the worker has not committed on the per-member topics (None: all of it).

    The poller writes in transactions, so the last offset of a partition is a commit marker
    and the markers between cycles are offsets without a message: commits must pass them.
    """
    for name in ("user-events", "usage-deltas", "app-associations"):
        topic = settings.topic(name)
        ends = await topic_ends(bootstrap, topic)
        committed = await committed_offsets(bootstrap, group, topic)
        if any(committed.get(partition, 0) < end - 1 for partition, end in ends.items() if end):
            return f"{name}: committed {committed}, ends {ends}"
    return None


def active_on(figures: dict[str, Any]) -> bool:
    """Whether a member's day in the truth shows any activity (engagement, tokens or cost)."""
    return any(figures.get(name) for name in ACTIVITY) or Decimal(
        figures.get("cost_cents", "0")) > 0


def covers(users: list[dict[str, Any]], ids: set[str]) -> bool:
    """The seeds were chosen so that ``ids`` include every kind of identity the rules see."""
    chosen = [user for user in users if user["id"] in ids]
    return (
        any(not user["managed"] and user["personal_domain"] for user in chosen)
        and any(not user["managed"] and not user["personal_domain"] for user in chosen)
        and any(user["deprovisioned"] for user in chosen)
    )


def nonzero(totals: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Totals without zero metrics and empty families (deltas may omit a metric that is 0)."""
    kept = {family: {m: v for m, v in metrics.items() if v} for family, metrics in totals.items()}
    return {family: metrics for family, metrics in kept.items() if metrics}


async def test_simulated_org_through_poller_and_worker(
    sim_factory: Any, kafka_bootstrap: str, tmp_path: Path
) -> None:
    directory_file = tmp_path / "directory.jsonl"
    sim = await sim_factory(
        users=USERS,
        seed=SEED,
        unmanaged_fraction=UNMANAGED_FRACTION,
        directory_out=directory_file,
        analytics_rate=3000.0,
        admin_rate=3000.0,
        spend_limit_share=SPEND_LIMIT_SHARE,
        spend_limits_rate=3000.0,
    )
    truth = await sim.truth(usage="false")
    prefix = f"e2e{uuid.uuid4().hex[:8]}."
    settings = Settings.load(
        {
            "CLAUDE_API_BASE_URL": sim.url,
            "CLAUDE_ANALYTICS_API_KEY": sim.config.analytics_key,
            "CLAUDE_ADMIN_API_KEY": sim.config.admin_key,
            "CONNECTOR_NAME": "acme",
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "TOPIC_PREFIX": prefix,
            "TOPIC_PARTITIONS": str(PARTITIONS),
            "ANALYTICS_RATE_PER_MINUTE": "3000",
            "ADMIN_RATE_PER_MINUTE": "3000",
            "SPEND_LIMITS_RATE_PER_MINUTE": "3000",
            "REVISION_WINDOW_DAYS": str(WINDOW_DAYS),
        }
    )
    await ensure_topics(kafka_bootstrap, prefix, PARTITIONS)
    app_id = f"e2e-{uuid.uuid4().hex[:8]}"
    worker = start_worker(
        kafka_bootstrap,
        prefix,
        app_id,
        tmp_path,
        partitions=PARTITIONS,
        env={
            "CORPORATE_DOMAINS": ",".join(truth["corporate_domains"]),
            "SPEND_SPIKE_DAILY_USD": str(SPEND_SPIKE_USD),
            "SPEND_SPIKE_FACTOR": "0",
            "IDLE_DAYS": str(IDLE_DAYS),
            "MANAGED_CONNECTORS": ",".join(truth["managed_connectors"]),
            # The simulator labels the rules on members' identities, connectors and spend.
            "DISABLED_RULES": ",".join(FEED_AND_KEY_RULES),
        },
    )
    try:
        await worker.wait_ready()
        async with httpx.AsyncClient(base_url=worker.url) as client:
            refused = await client.post("/decisions", json={"action": "ack"})
        assert refused.status_code == 403, "no triage writes without WEB_TOKEN"
        pipeline = Pipeline(sim, kafka_bootstrap, settings, worker, directory_file)
        org_id = truth["organization_id"]
        pipeline.baseline_users = {user["id"] for user in truth["users"]}
        assert covers(truth["users"], pipeline.baseline_users)

        await pipeline.load_directory(org_id)
        await pipeline.poll()
        baseline = await pipeline.check("baseline")
        # The seed draws no pending invitation to a personal address: PERSONAL_INVITE is held
        # to raising nothing here (the alerts benchmark and the unit tests raise it).
        assert {reason for _, reason in baseline} == CHECKED_RULES - {"PERSONAL_INVITE"}

        joined = await sim.advance(days=1, add=15, role_changes=6, seed=14)
        await pipeline.load_directory(org_id)
        await pipeline.poll()
        hired = {user["id"] for user in joined["added"]}
        assert covers((await sim.truth(usage="false"))["users"], hired)
        await pipeline.check("hires")

        members = {user["id"]: user for user in (await sim.truth(usage="false"))["users"]}
        left = await sim.advance(hours=3, remove=12, seed=11)
        await pipeline.poll()
        await pipeline.load_directory(org_id)
        gone = [members[user_id] for user_id in left["removed"]]
        assert any(not u["managed"] for u in gone) and any(u["deprovisioned"] for u in gone)
        await pipeline.check("leavers")
        await eventually(
            lambda: uncommitted(kafka_bootstrap, settings, app_id), SETTLE_SECONDS, until=settled
        )

        # ``claude-connector report`` reads the topics alone and says what the worker says.
        today = date.fromisoformat((await sim.truth(usage="false"))["now"][:10])
        command = ["report", "--org", org_id, "--days", str(WINDOW_DAYS), "--until",
                   today.isoformat(), "--format", "json"]
        environment = {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "TOPIC_PREFIX": prefix,
                       "IDLE_DAYS": str(IDLE_DAYS)}
        result = await asyncio.to_thread(CliRunner().invoke, main, command, env=environment)
        assert result.exit_code == 0, result.output
        report = orjson.loads(result.stdout)
        view = (await worker.get("/insights", org=org_id, days=str(WINDOW_DAYS),
                                 until=today.isoformat())).json()["data"]
        assert report == view
        assert report["alerts_by_day"] and report["top_spenders"] and report["idle_seats"]
    finally:
        worker.stop()
