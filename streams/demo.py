"""``claude-connector demo``: local Kafka, a simulated org, the poller and the worker, supervised.

``Demo.run`` is the whole story:

1. stop what earlier demos left behind when their process died (broker, worker, run dir);
2. start a broker in a fresh run dir under ``CLAUDE_CONNECTOR_CACHE/demo`` on free ports;
3. start the simulator (this process, a free port), which writes its directory file; create
   the topics; start the worker (a child process); load the directory;
4. run the first collection with its progress;
5. wait until the worker applied the first collection, then print the URL of the page;
6. every tick: advance simulated time with churn, reload the directory when it changed, run
   one poll cycle (roster every tick, analytics and spend every few ticks) and print what
   changed, the members, the open alerts by reason and the connector status;
7. on Ctrl-C, SIGTERM or after ``--duration``: stop poller, worker, simulator and broker, in
   that order, and remove the run dir.

The demo drives the poller's cycles itself (instead of the poller's own schedule) so that each
tick reports exactly one cycle and the directory is loaded before the poll that sees the churn.
It never touches a broker, port or table the user already runs: everything lives in its run dir
on free ports (only ``--web-port`` is chosen by the user) with its own topics and app id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shutil
import signal
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from streams.config import Secret, Settings
from streams.directory import load_directory, read_directory_file
from streams.errors import DemoError
from streams.events.topics import APP_ASSOCIATIONS, DIRECTORY, USAGE_DELTAS, USER_EVENTS
from streams.kafkaio import ensure_topics
from streams.localkafka import LocalKafka, free_port, port_in_use
from streams.poller.cycle import CycleReport, DataType
from streams.poller.loop import PollerRunner
from streams.simulator import RunningSimulator, SimConfig, start_simulator
from streams.simulator.org import CORPORATE_DOMAINS
from streams.worker_process import WorkerProcess, worker_environment

USER_SIZES = {"small": 200, "medium": 2000, "large": 5000}
DEFAULT_SIZE = "medium"
CONNECTOR = "demo"
APP_ID = "claude-connector-demo"
TICK_SECONDS = 5.0
ANALYTICS_EVERY_TICKS = 6
RATE_PER_MINUTE = 600.0
"""The simulated org's API rate limits (the real API allows 60 analytics requests a minute)."""
CHURN_PER_DAY = {"add": 0.01, "remove": 0.006, "role_changes": 0.005}
"""Share of the org added, removed and changing role per simulated day."""
BASELINE_TIMEOUT_SECONDS = 300.0
RECANCEL_SECONDS = 1.0
BASELINE_TOPICS = {"SNAPSHOT": USER_EVENTS, "UsageDelta": USAGE_DELTAS,
                   "AppAssociation": APP_ASSOCIATIONS}
"""What the worker must have applied of the first collection before the live phase starts."""

Output = Callable[[str], None]


@dataclass(frozen=True)
class DemoOptions:
    """What the ``demo`` command's flags decide."""

    users: int = USER_SIZES[DEFAULT_SIZE]
    seed: int = 0
    speed: float = 60.0
    """Simulated hours per real minute (60: a simulated day every 24 s; 0: the clock stands)."""
    web_port: int | None = None
    duration: float | None = None
    """Seconds of the live phase; None runs until Ctrl-C or SIGTERM."""
    tick_seconds: float = TICK_SECONDS


@dataclass
class ChurnPlan:
    """Churn for the hours each tick advances, carrying fractions so small orgs churn too."""

    users: int
    per_day: dict[str, float] = field(default_factory=lambda: dict(CHURN_PER_DAY))
    carry: dict[str, float] = field(default_factory=dict)

    def take(self, hours: float) -> dict[str, int]:
        """Whole adds, removals and role changes due for ``hours`` more simulated hours."""
        due = {}
        for kind, share in self.per_day.items():
            total = self.carry.get(kind, 0.0) + self.users * share * hours / 24
            due[kind] = int(total)
            self.carry[kind] = total - due[kind]
        return due


VIEW_LIMIT = "10000"
"""The page size of the list views the demo reads whole (the views' largest window)."""


@dataclass(frozen=True)
class Summary:
    """What one tick shows."""

    sim_time: str
    members: int
    open_alerts: dict[str, int]
    status: str
    report: CycleReport | None = None
    adoption: float | None = None
    idle_seats: int | None = None
    findings: dict[str, int] = field(default_factory=dict)
    """Identities with an open finding, by their highest severity (most severe first)."""

    @property
    def alert_total(self) -> int:
        return sum(self.open_alerts.values())


SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")


def findings_by_severity(identities: Mapping[str, Any]) -> dict[str, int]:
    """How many identities of an ``/identities`` answer have each highest severity."""
    counts = {severity: 0 for severity in SEVERITIES}
    for item in identities.get("data", []):
        counts[item["severity"]] = counts.get(item["severity"], 0) + 1
    return {severity: count for severity, count in counts.items() if count}


def summarize(
    users: Mapping[str, Any],
    open_alerts: Mapping[str, int],
    status: Mapping[str, Any],
    sim_time: str,
    report: CycleReport | None,
    insights: Mapping[str, Any] | None = None,
    findings: Mapping[str, int] | None = None,
) -> Summary:
    """The summary from the worker's ``/users`` answer (its ``total``: the members), the open
    alerts per reason (see ``alerts_by_reason``), the ``/status`` answer and the
    ``/insights`` answer (adoption and idle seats)."""
    rows = [row for row in status.get("data", []) if row.get("connector") == CONNECTOR]
    state = rows[0]["state"] if rows else "no status yet"
    alerts = {reason: count for reason, count in open_alerts.items() if count}
    figures = (insights or {}).get("data") or {}
    return Summary(sim_time, users.get("total", 0),
                   dict(sorted(alerts.items(), key=lambda a: -a[1])), state, report,
                   figures.get("adoption"), figures.get("seats", {}).get("idle"),
                   dict(findings or {}))


def alerts_by_reason(alerts: Mapping[str, Any]) -> dict[str, int]:
    """How many alerts of an ``/alerts`` answer have each reason."""
    return dict(Counter(item["reason"] for item in alerts.get("data", [])))


def applied_events(health: Mapping[str, Any], topic: str) -> int:
    """The input messages of ``topic`` the worker applied, from its ``/health`` answer."""
    count: int = health.get("events", {}).get(topic, 0)
    return count


def describe_cycle(report: CycleReport) -> str:
    """What one cycle emitted, e.g. ``+4 added, 2 removed, 3 updated, 312 usage deltas``."""
    counts = report.counts
    parts = [
        f"{counts[key]} {label}"
        for key, label in (
            ("SNAPSHOT", "members (baseline)"),
            ("ADDED", "added"),
            ("REMOVED", "removed"),
            ("UPDATED", "updated"),
            ("UsageDelta", "usage deltas"),
            ("AppAssociation", "new app uses"),
            ("ConnectorStatus", "status changes"),
        )
        if counts.get(key)
    ]
    return ", ".join(parts) or "no changes"


def render(summary: Summary) -> list[str]:
    """The summary as terminal lines."""
    alerts = ", ".join(f"{reason} {count}" for reason, count in summary.open_alerts.items())
    seats = ""
    if summary.adoption is not None:
        seats += f"adoption {summary.adoption:.0%}   "
    if summary.idle_seats is not None:
        seats += f"idle seats {summary.idle_seats}   "
    lines = [
        f"simulated time {summary.sim_time}   members {summary.members}   {seats}"
        f"connector {summary.status}",
        f"open alerts {summary.alert_total}" + (f": {alerts}" if alerts else ""),
    ]
    if summary.findings:
        by_severity = ", ".join(f"{severity} {count}" for severity, count in
                                summary.findings.items())
        lines.append(f"findings {sum(summary.findings.values())} identities: {by_severity}")
    report = summary.report
    if report is not None:
        # A cycle that emitted nothing leaves no trace, not even a new poll id.
        name = f"cycle {report.poll_id}" if report.events else "last poll"
        lines.append(f"{name}: {describe_cycle(report)} in {report.seconds:.1f}s")
    return lines


def _process_alive(pid: int | None, marker: bytes) -> bool:
    """True when ``pid`` runs and its command line contains ``marker``."""
    if not pid:
        return False
    try:
        return marker in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def clean_stale_runs(root: Path, cache_dir: Path, out: Output) -> None:
    """Stop the broker and worker of run dirs whose demo process is gone; remove the dirs."""
    for run_dir in sorted(root.glob("run-*")):
        try:
            recorded = json.loads((run_dir / "demo.json").read_text())
        except (OSError, ValueError):
            recorded = {}
        pid = recorded.get("pid")
        if pid != os.getpid() and _process_alive(pid, b"demo"):
            continue
        worker_pid = recorded.get("worker_pid")
        if _process_alive(worker_pid, b"worker"):
            os.kill(worker_pid, signal.SIGKILL)
        if LocalKafka(run_dir / "broker", cache_dir).stop():
            out(f"stopped the broker an interrupted demo left in {run_dir}")
        shutil.rmtree(run_dir, ignore_errors=True)


class Demo:
    """One demo run: its parts, started in order and stopped in reverse."""

    def __init__(
        self, settings: Settings, options: DemoOptions, out: Output, *, live: bool = False
    ) -> None:
        self.settings = settings
        self.options = options
        self.out = out
        self.live = live
        self.run_dir = settings.cache_dir / "demo" / f"run-{os.getpid()}"
        self._panel_height = 0
        self.stopping_parts = False
        """The parts are being stopped (a cancellation now would cut their stop short)."""

    async def run(self) -> None:
        """Start everything, run the live phase, stop everything (also when cancelled)."""
        options = self.options
        if options.web_port is not None and port_in_use("127.0.0.1", options.web_port):
            raise DemoError(f"port {options.web_port} is in use; pick another --web-port")
        root = self.run_dir.parent
        root.mkdir(parents=True, exist_ok=True)
        clean_stale_runs(root, self.settings.cache_dir, self.out)
        self.run_dir.mkdir()
        self._record()
        try:
            await self._run_parts()
        finally:
            self.out("stopped: every process ended, every port released")

    async def _run_parts(self) -> None:
        """Each part is stopped by the exit stack, in reverse order of starting."""
        async with contextlib.AsyncExitStack() as stack:
            try:
                await self._start_and_run(stack)
            finally:
                self.stopping_parts = True

    async def _start_and_run(self, stack: contextlib.AsyncExitStack) -> None:
        options = self.options
        stack.callback(shutil.rmtree, self.run_dir, ignore_errors=True)
        bootstrap = await self._start_broker(stack)
        simulator = await start_simulator(
            SimConfig(
                users=options.users,
                seed=options.seed,
                analytics_rate=RATE_PER_MINUTE,
                admin_rate=RATE_PER_MINUTE,
                spend_limits_rate=RATE_PER_MINUTE,
                directory_out=self.run_dir / "directory.jsonl",
            )
        )
        stack.push_async_callback(simulator.aclose)
        self.out(
            f"simulator: {options.users} users (seed {options.seed}) at {simulator.url}, "
            f"rate limits {RATE_PER_MINUTE:g}/min (the real API: 60/min for analytics)"
        )
        settings = self._settings(bootstrap, simulator)
        await ensure_topics(bootstrap, settings.topic_prefix, settings.topic_partitions)
        worker = self._start_worker(settings)
        stack.push_async_callback(self._stop_worker, worker)
        org_id = simulator.state.org.id
        loaded = await self._load_directory(settings, simulator, org_id)
        self.out(f"directory: {loaded} managed identities loaded")
        runner = await stack.enter_async_context(PollerRunner(settings, quiet=True))
        stack.callback(self.out, "stopping: poller, worker, simulator, broker")
        report = await self._first_collection(runner)
        await self._wait_for_baseline(worker, settings, report)
        self._announce(worker, bootstrap, settings)
        await self._live(runner, worker, simulator, settings, org_id, report)

    # --- starting -----------------------------------------------------------------------------

    async def _start_broker(self, stack: contextlib.AsyncExitStack) -> str:
        broker = LocalKafka(
            self.run_dir / "broker",
            self.settings.cache_dir,
            port=free_port(),
            controller_port=free_port(),
        )
        self.out("kafka: starting a local broker (the first run fetches the jars once)")
        starting = asyncio.ensure_future(
            asyncio.to_thread(broker.start, lambda line: self.out(f"kafka: {line}"))
        )

        async def stop() -> None:
            # A start still running in its thread finishes first, so nothing is left behind.
            await asyncio.wait({starting})
            await asyncio.to_thread(broker.stop)

        stack.push_async_callback(stop)
        info = await asyncio.shield(starting)
        self.out(f"kafka: {info.bootstrap} (pid {info.pid}, data in {broker.data_dir})")
        return info.bootstrap

    def _settings(self, bootstrap: str, simulator: RunningSimulator) -> Settings:
        """The user's settings with the demo's broker, simulator, keys and topics."""
        return self.settings.replace(
            api_base_url=simulator.url,
            analytics_api_key=Secret(simulator.config.analytics_key),
            admin_api_key=Secret(simulator.config.admin_key),
            connector_name=CONNECTOR,
            extra_connectors=(),
            kafka_bootstrap_servers=bootstrap,
            kafka_security_protocol="PLAINTEXT",
            kafka_ssl_cafile=None,
            kafka_ssl_certfile=None,
            kafka_ssl_keyfile=None,
            topic_replication_factor=1,
            corporate_domains=CORPORATE_DOMAINS,
            analytics_rate_per_minute=RATE_PER_MINUTE,
            admin_rate_per_minute=RATE_PER_MINUTE,
            spend_limits_rate_per_minute=RATE_PER_MINUTE,
            worker_app_id=APP_ID,
            directory_file=None,
        )

    async def _load_directory(
        self, settings: Settings, simulator: RunningSimulator, org_id: str
    ) -> int:
        path = simulator.config.directory_out
        assert path is not None
        records = read_directory_file(path, org_id)
        result = await load_directory(
            settings.kafka_bootstrap_servers, DIRECTORY.name(settings.topic_prefix), records
        )
        return result.published

    def _start_worker(self, settings: Settings) -> WorkerProcess:
        token = settings.web_token.reveal() if settings.web_token else None
        env = worker_environment(
            settings.kafka_bootstrap_servers,
            settings.topic_prefix,
            settings.worker_app_id,
            self.run_dir / "worker",
            partitions=settings.topic_partitions,
            token=token,
            extra={
                "CORPORATE_DOMAINS": ",".join(settings.corporate_domains),
                "TOPIC_REPLICATION_FACTOR": "1",
                "ALERT_WEBHOOK_URL": "",
                "CLAUDE_CONNECTOR_CONFIG": "",
                "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
                "KAFKA_SSL_CAFILE": "",
                "KAFKA_SSL_CERTFILE": "",
                "KAFKA_SSL_KEYFILE": "",
            },
        )
        worker = WorkerProcess(
            env, self.run_dir / "logs", token=token, web_port=self.options.web_port,
            loglevel="warn",
        )
        worker.start()
        assert worker.process is not None
        self._record(worker_pid=worker.process.pid)
        self.out(f"worker: starting (pid {worker.process.pid}, log {worker.log_path})")
        return worker

    async def _stop_worker(self, worker: WorkerProcess) -> None:
        await asyncio.to_thread(worker.stop)

    def _record(self, **pids: int) -> None:
        """Note this demo's pids in its run dir, for ``clean_stale_runs`` after a crash."""
        path = self.run_dir / "demo.json"
        recorded = json.loads(path.read_text()) if path.exists() else {"pid": os.getpid()}
        path.write_text(json.dumps({**recorded, **pids}))

    async def _first_collection(self, runner: PollerRunner) -> CycleReport:
        poller = runner.pollers[CONNECTOR]
        poller.progress = lambda line: self.out(f"collecting: {line}")
        report = await poller.run_cycle()
        poller.progress = lambda _: None
        if not report.completed:
            raise DemoError(f"the first collection did not complete: {report.reason}")
        self.out(
            f"first collection: {report.events} events in {report.seconds:.1f}s "
            f"({describe_cycle(report)})"
        )
        return report

    async def _wait_for_baseline(
        self, worker: WorkerProcess, settings: Settings, report: CycleReport
    ) -> None:
        """Wait until the worker is ready and has applied the first collection's events."""
        try:
            await worker.wait_ready()
        except RuntimeError as exc:
            raise DemoError(str(exc)) from None
        want = {
            spec.name(settings.topic_prefix): report.counts.get(kind, 0)
            for kind, spec in BASELINE_TOPICS.items()
        }
        total = sum(want.values())
        members = report.counts.get("SNAPSHOT", 0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BASELINE_TIMEOUT_SECONDS
        shown = loop.time()
        settled: dict[str, int] | None = None
        while loop.time() < deadline:
            health = await self._view(worker, "/health")
            applied = {topic: applied_events(health, topic) for topic in want}
            users = await self._view(worker, "/users", limit="1")
            if users.get("total", 0) == members and all(
                applied[topic] >= count for topic, count in want.items()
            ):
                # Counters move before a batch's table writes land: wait for two equal reads.
                open_alerts = await self._open_alerts(worker)
                if open_alerts == settled:
                    self.out(f"worker: applied the first collection ({total} events)")
                    return
                settled = open_alerts
            if loop.time() - shown >= 3:
                done = sum(min(applied[topic], count) for topic, count in want.items())
                self.out(f"worker: applying the first collection: {done} of {total} events")
                shown = loop.time()
            await asyncio.sleep(0.5)
        raise DemoError(f"the worker did not apply the first collection within "
                        f"{BASELINE_TIMEOUT_SECONDS:.0f}s:\n{worker.log_tail()}")

    def _announce(self, worker: WorkerProcess, bootstrap: str, settings: Settings) -> None:
        token_note = (
            " (the page asks for WEB_TOKEN, or open it with #token=<WEB_TOKEN>)"
            if settings.web_token else ""
        )
        self.out("")
        self.out(f"open {worker.url}/ in a browser{token_note}")
        self.out(f"views: {worker.url}/alerts?state=open  /users  /users/<id>  /status  /metrics")
        self.out(
            f"topics: KAFKA_BOOTSTRAP_SERVERS={bootstrap} claude-connector tail user-events -f"
        )
        duration = self.options.duration
        self.out(
            f"running for {duration:g}s" if duration is not None
            else "press Ctrl-C to stop everything"
        )
        self.out("")

    # --- the live phase ---------------------------------------------------------------------

    async def _live(
        self,
        runner: PollerRunner,
        worker: WorkerProcess,
        simulator: RunningSimulator,
        settings: Settings,
        org_id: str,
        report: CycleReport | None,
    ) -> None:
        options = self.options
        loop = asyncio.get_running_loop()
        ends = None if options.duration is None else loop.time() + options.duration
        plan = ChurnPlan(options.users)
        hours = options.speed * options.tick_seconds / 60

        def remaining() -> float:
            return math.inf if ends is None else ends - loop.time()

        tick = 0
        while True:
            await self._show(worker, simulator, report)
            await asyncio.sleep(max(0.0, min(options.tick_seconds, remaining())))
            if remaining() <= 0:
                return
            tick += 1
            if hours > 0:
                churn = await simulator.advance(hours=hours, **plan.take(hours))
                if churn["added"] or churn["removed"]:
                    await self._load_directory(settings, simulator, org_id)
            due = {DataType.ROSTER}
            if tick % ANALYTICS_EVERY_TICKS == 0:
                due |= {DataType.ANALYTICS, DataType.USAGE}
            report = await self._cycle(runner, due)
            if not worker.alive():
                raise DemoError(f"the worker exited:\n{worker.log_tail()}")

    async def _cycle(self, runner: PollerRunner, due: Iterable[DataType]) -> CycleReport | None:
        report = await runner.cycle(CONNECTOR, due)
        if report is None:
            self.out("poller: the cycle did not commit; retrying next tick")
        return report

    @staticmethod
    async def _view(worker: WorkerProcess, path: str, **params: str) -> Any:
        """The JSON answer of one of the worker's views; ``DemoError`` when it is gone."""
        try:
            response = await worker.get(path, **params)
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise DemoError(
                f"the worker does not answer {path} ({exc!r}):\n{worker.log_tail()}"
            ) from None

    async def _summary(
        self, worker: WorkerProcess, sim_time: str, report: CycleReport | None
    ) -> Summary:
        """Members, open alerts per reason and the connector's status, from the JSON views."""
        users = await self._view(worker, "/users", limit="1")
        open_alerts = await self._open_alerts(worker)
        status = await self._view(worker, "/status")
        window = {"until": sim_time[:10]} if sim_time else {}
        insights = await self._view(worker, "/insights", **window)
        identities = await self._view(worker, "/identities", state="open", limit=VIEW_LIMIT)
        return summarize(users, open_alerts, status, sim_time, report, insights,
                         findings_by_severity(identities))

    async def _open_alerts(self, worker: WorkerProcess) -> dict[str, int]:
        """The open alerts per reason, from one ``/alerts`` page."""
        return alerts_by_reason(await self._view(worker, "/alerts", state="open",
                                                 limit=VIEW_LIMIT))

    async def _show(
        self, worker: WorkerProcess, simulator: RunningSimulator, report: CycleReport | None
    ) -> None:
        now: datetime = simulator.state.org.now
        lines = render(await self._summary(worker, now.strftime("%Y-%m-%d %H:%M UTC"), report))
        if self.live:
            if self._panel_height:
                # Redraw in place: back to the panel's first line, clear to the end.
                lines[0] = f"\x1b[{self._panel_height}F\x1b[J" + lines[0]
            self._panel_height = len(lines)
            for line in lines:
                self.out(line)
        else:
            self.out(" | ".join(lines))


async def cancel_until_unwinding(
    work: asyncio.Future[None], demo: Demo, interval: float = RECANCEL_SECONDS
) -> None:
    """Cancel ``work`` again every ``interval`` until it is done or ``demo`` stops its parts.

    A cancellation can be lost: ``asyncio.wait_for`` (Python 3.11, which aiokafka's clients
    use) swallows one that arrives as the awaited call completes, and the demo then went on
    starting (seen once: a SIGTERM right after the worker's start left demo, worker and
    broker running).
    """
    while not work.done() and not demo.stopping_parts:
        await asyncio.sleep(interval)
        if not work.done() and not demo.stopping_parts:
            work.cancel()


async def run_demo(settings: Settings, options: DemoOptions, out: Output, *, live: bool) -> None:
    """Run a demo until ``--duration`` ends it, or SIGINT / SIGTERM; stop every part either way."""
    loop = asyncio.get_running_loop()
    demo = Demo(settings, options, out, live=live)
    work = asyncio.ensure_future(demo.run())
    stopping = False
    recancel: asyncio.Task[None] | None = None

    def stop(name: str) -> None:
        nonlocal stopping, recancel
        if stopping:
            out(f"{name}: already stopping, waiting for every part to exit")
            return
        stopping = True
        out(f"\n{name}: stopping")
        work.cancel()
        recancel = asyncio.ensure_future(cancel_until_unwinding(work, demo))

    signals = (signal.SIGINT, signal.SIGTERM)
    for number in signals:
        loop.add_signal_handler(number, stop, number.name)
    try:
        await work
    except asyncio.CancelledError:
        if not stopping:
            raise
    finally:
        for number in signals:
            loop.remove_signal_handler(number)
        if recancel is not None:
            recancel.cancel()
