"""``claude-connector bench detect --json``: from a new unmanaged member to its alert on Kafka.

1. A real broker (``KAFKA_BOOTSTRAP_SERVERS``, else a ``LocalKafka`` on free ports), a
   simulator of ``users`` members in which half of all identities are unmanaged, its directory
   file loaded into the directory topic, and ``claude-connector worker`` as a child process
   with the simulator's corporate domains.
2. The poller's own loop (``PollerRunner.run_forever``) polls the roster every
   ``poll_seconds``; the first cycle is the baseline, and the run waits until the worker holds
   every member.
3. Each sample: ``/_sim/advance`` adds one member (a few simulated minutes pass), at a random
   moment of the poll cycle. Samples whose new member is unmanaged (the simulator says
   ``managed: false``) are timed from the moment ``advance`` returns (the member exists in
   the API) to the moment a consumer tailing the alert topic receives its OPENED
   ``UNMANAGED_IDENTITY`` alert. The same consumer also times the member's ``ADDED`` event on
   the user-events topic, which splits the latency into poller and worker parts.

``ratio`` = p99 / (``poll_seconds`` + 2 s), the target being p99 < poll interval + 2 s
(ratio < 1): the poll interval is the wait a roster change can have before anyone looks, the
2 s are the budget for fetching, committing, folding and alerting.

``--source feed`` times the Activity Feed path instead: the simulator shows activities
``feed_lag`` wall-clock seconds late (a tenth of them three times as late, as the real feed's
late rows), the feed is read every ``poll_seconds`` and the roster at its default interval
(so the alert can only come through the feed). The target is p99 < longest feed lag +
``poll_seconds`` + 2 s; ``added_sources`` lists the sources of the ADDED events seen.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.bench import benchmark
from streams.bench.pipeline import bench_broker
from streams.config import Settings
from streams.directory import load_directory, read_directory_file
from streams.errors import CodecError
from streams.events.codec import default_codec
from streams.events.records import AlertReason, AlertState, ShadowItAlert, UserEvent, UserOp
from streams.events.topics import DIRECTORY, SHADOW_IT_ALERTS, USER_EVENTS
from streams.kafkaio import ensure_topics
from streams.kafkaio.reader import partition_numbers
from streams.kafkaio.security import PLAINTEXT, KafkaSecurity
from streams.poller.loop import PollerRunner
from streams.simulator import RunningSimulator, SimConfig, start_simulator
from streams.simulator.feed import LATE_FACTOR
from streams.worker_process import WorkerProcess, worker_environment

START_DATE = date(2026, 11, 20)
API_RATE_PER_MINUTE = 3000.0
"""The simulator is local: no need to pace the first collection at the documented limits."""
UNMANAGED_FRACTION = 0.5
ALERT_BUDGET_SECONDS = 2.0
SAMPLE_TIMEOUT_SECONDS = 30.0
ADVANCE_HOURS = 0.05


@dataclass
class Tail:
    """Receive times (``perf_counter``) of ADDED events and UNMANAGED_IDENTITY alerts by user."""

    added: dict[str, float] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    alerted: dict[str, float] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def note(self, record: Any, at: float) -> None:
        if isinstance(record, UserEvent) and record.op is UserOp.ADDED:
            self.added.setdefault(record.user_id, at)
            self.sources.setdefault(record.user_id, record.source.value)
        elif (
            isinstance(record, ShadowItAlert)
            and record.state is AlertState.OPENED
            and record.reason is AlertReason.UNMANAGED_IDENTITY
        ):
            self.alerted.setdefault(record.user_id, at)
        else:
            return
        self.changed.set()

    async def alert_for(self, user_id: str, timeout: float) -> float:
        """The receive time of ``user_id``'s alert, waiting up to ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            while user_id not in self.alerted:
                self.changed.clear()
                await self.changed.wait()
        return self.alerted[user_id]


async def tail(
    bootstrap: str,
    topics: list[str],
    into: Tail,
    started: asyncio.Event,
    security: KafkaSecurity = PLAINTEXT,
) -> None:
    """Follow ``topics`` from their current ends, noting what arrives, until cancelled."""
    codec = default_codec()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        fetch_max_wait_ms=20,
        **security.client_options(),
    )
    await consumer.start()
    try:
        tps = [
            TopicPartition(topic, number)
            for topic in topics
            for number in await partition_numbers(bootstrap, topic, security=security)
        ]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)
        started.set()
        while True:
            batches = await consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for messages in batches.values():
                for message in messages:
                    try:
                        into.note(codec.decode(message.value), now)
                    except CodecError:
                        continue
    finally:
        await consumer.stop()


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values``."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def _members_held(worker: WorkerProcess, sim: RunningSimulator, timeout: float) -> None:
    """Wait until the worker's ``/users`` lists as many members as the simulator has."""
    want = len((await sim.truth(usage="false"))["users"])
    async with asyncio.timeout(timeout):
        while not await worker.holds_members(want):
            await asyncio.sleep(0.2)


def poller_settings(
    sim: RunningSimulator,
    bootstrap: str,
    prefix: str,
    partitions: int,
    poll_seconds: float,
    security: KafkaSecurity,
    source: str,
    **extra: str,
) -> Settings:
    """A benchmark poller's settings on the simulator and broker (``extra`` wins)."""
    intervals = (
        {"ACTIVITY_POLL_SECONDS": str(poll_seconds)}
        if source == "feed"
        else {"ROSTER_POLL_SECONDS": str(poll_seconds), "ACTIVITY_POLL_SECONDS": "0"}
    )
    return Settings.load(
        {
            "CLAUDE_API_BASE_URL": sim.url,
            "CLAUDE_ANALYTICS_API_KEY": sim.config.analytics_key,
            "CLAUDE_ADMIN_API_KEY": sim.config.admin_key,
            "CONNECTOR_NAME": "bench",
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "TOPIC_PREFIX": prefix,
            "TOPIC_PARTITIONS": str(partitions),
            **intervals,
            "ANALYTICS_RATE_PER_MINUTE": str(API_RATE_PER_MINUTE),
            "ADMIN_RATE_PER_MINUTE": str(API_RATE_PER_MINUTE),
            "REVISION_WINDOW_DAYS": "3",
            **security.environment(),
            **extra,
        }
    )


async def _sample(
    sim: RunningSimulator, observed: Tail, rng: random.Random, poll_seconds: float, number: int
) -> tuple[float, float] | None:
    """(to the ADDED event, to the alert) for one added member; None when it is managed."""
    await asyncio.sleep(rng.uniform(0, poll_seconds))
    added = (await sim.advance(hours=ADVANCE_HOURS, add=1, seed=10_000 + number))["added"]
    appeared = time.perf_counter()
    (member,) = added
    if member["managed"]:
        return None
    alerted = await observed.alert_for(member["id"], SAMPLE_TIMEOUT_SECONDS)
    return observed.added[member["id"]] - appeared, alerted - appeared


async def _measure(
    bootstrap: str,
    security: KafkaSecurity,
    workdir: Path,
    samples: int,
    users: int,
    poll_seconds: float,
    partitions: int,
    source: str,
    feed_lag: float,
) -> dict[str, Any]:
    sim = await start_simulator(
        SimConfig(),
        users=users,
        seed=7,
        start_date=START_DATE,
        unmanaged_fraction=UNMANAGED_FRACTION,
        directory_out=workdir / "directory.jsonl",
        analytics_rate=API_RATE_PER_MINUTE,
        admin_rate=API_RATE_PER_MINUTE,
        feed_lag=feed_lag if source == "feed" else 0.0,
    )
    truth = await sim.truth(usage="false")
    prefix = f"detect{uuid.uuid4().hex[:8]}."
    await ensure_topics(bootstrap, prefix, partitions, security=security)
    await load_directory(
        bootstrap,
        DIRECTORY.name(prefix),
        read_directory_file(workdir / "directory.jsonl", truth["organization_id"]),
        security=security,
    )
    env = worker_environment(
        bootstrap,
        prefix,
        f"detect-{uuid.uuid4().hex[:8]}",
        workdir / "cache",
        partitions=partitions,
        extra={
            "CORPORATE_DOMAINS": ",".join(truth["corporate_domains"]),
            **security.environment(),
        },
    )
    worker = WorkerProcess(env, workdir / "logs", loglevel="warn")
    worker.start()
    observed = Tail()
    tail_started = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    try:
        await worker.wait_ready()
        tasks.append(asyncio.create_task(tail(
            bootstrap, [USER_EVENTS.name(prefix), SHADOW_IT_ALERTS.name(prefix)], observed,
            tail_started, security,
        )))
        await tail_started.wait()
        settings = poller_settings(
            sim, bootstrap, prefix, partitions, poll_seconds, security, source
        )
        async with PollerRunner(settings, quiet=True) as poller:
            tasks.append(asyncio.create_task(poller.run_forever()))
            await _members_held(worker, sim, SAMPLE_TIMEOUT_SECONDS * 4)
            rng = random.Random(1)
            timed: list[tuple[float, float]] = []
            advances = 0
            while len(timed) < samples:
                advances += 1
                result = await _sample(sim, observed, rng, poll_seconds, advances)
                if result is not None:
                    timed.append(result)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        worker.stop()
        await sim.aclose()
    to_event = [event for event, _ in timed]
    to_alert = [alert for _, alert in timed]
    longest_lag = LATE_FACTOR * feed_lag if source == "feed" else 0.0
    target = longest_lag + poll_seconds + ALERT_BUDGET_SECONDS
    p99 = percentile(to_alert, 0.99)
    return {
        "source": source,
        "feed_lag_s": feed_lag if source == "feed" else None,
        "added_sources": sorted(set(observed.sources.values())),
        "samples": len(timed),
        "advances": advances,
        "users": users,
        "poll_seconds": poll_seconds,
        "p50_s": round(percentile(to_alert, 0.50), 3),
        "p99_s": round(p99, 3),
        "max_s": round(max(to_alert), 3),
        "mean_s": round(statistics.fmean(to_alert), 3),
        "poller_p50_s": round(percentile(to_event, 0.50), 3),
        "poller_p99_s": round(percentile(to_event, 0.99), 3),
        "worker_p50_s": round(percentile([a - e for e, a in timed], 0.50), 3),
        "worker_p99_s": round(percentile([a - e for e, a in timed], 0.99), 3),
        "target_p99_s": target,
        "baseline": (
            f"longest feed lag + feed interval + {ALERT_BUDGET_SECONDS:g} s (p99 target)"
            if source == "feed"
            else f"poll interval + {ALERT_BUDGET_SECONDS:g} s (p99 target)"
        ),
        "ratio": round(p99 / target, 3),
    }


async def _run(
    samples: int, users: int, poll_seconds: float, partitions: int, source: str, feed_lag: float
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-detect-") as temp:
        workdir = Path(temp)
        async with bench_broker(workdir) as (bootstrap, security, broker):
            result = await _measure(
                bootstrap, security, workdir, samples, users, poll_seconds, partitions, source,
                feed_lag,
            )
    return {**result, "broker": broker}


@benchmark("detect")
def detect(
    samples: int = 20,
    users: int = 200,
    poll_seconds: float = 1.0,
    partitions: int = 2,
    source: str = "roster",
    feed_lag: float = 1.0,
) -> dict[str, Any]:
    """Seconds from a new unmanaged member in the simulator to its alert on the alert topic.

    ``source``: ``roster`` (the roster polled every ``poll_seconds``) or ``feed`` (the
    Activity Feed read every ``poll_seconds``, ``feed_lag`` seconds behind the changes).
    """
    if source not in ("roster", "feed"):
        raise ValueError("source must be 'roster' or 'feed'")
    return asyncio.run(_run(samples, users, poll_seconds, partitions, source, feed_lag))
