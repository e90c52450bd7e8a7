"""``claude-connector bench scale --users N --workers W --json``: one large org end to end.

On a real broker (``KAFKA_BOOTSTRAP_SERVERS``, else a ``LocalKafka`` on free ports):

1. A simulator of ``users`` members runs in its own process (as in ``bench sync``).
   ``claude-connector poll --once`` runs as a child process: the first collection (roster,
   ``days`` analytics days, per-user spend). Its wall time is compared with its rate-limit
   bound, ``max over API families of requests / allowed rate`` (``ratio``), and its peak RSS
   is the child's ``ru_maxrss``. With ``limits=both`` a first run at the demo's raised limits
   (600/min) into a throwaway prefix exposes the CPU cost; the run at the documented limits
   (100/min admin, 60/min analytics, 60/min spend limits) feeds the workers. Each family has
   its own limit and they are read concurrently, so the bound is the slowest family's; from
   about 6,000 members on that is the spend limits (100 members a page).
2. ``workers`` worker processes of one app id (table store ``store``) consume the backlog;
   events/s is measured from the moment all are ready until the events they report applied
   last grew, once their consumer group has committed every message of the per-member input
   topics and ``/users`` lists every member. The same-run baseline (``raw_fold_per_s``,
   ``worker_vs_raw``) is one raw aiokafka consumer folding the same per-member topics (user
   events, usage deltas, associations) with the workers' decoders and ``WorkerState`` over
   plain dicts, measured before and after the workers (``raw_fold_runs_per_s``; the
   baseline is their mean, as this machine's speed drifts between runs);
   ``raw_usage_fold_per_s`` and ``worker_vs_raw_usage`` are for the usage deltas alone (the
   baseline of earlier releases). The workers also apply the few events of the other topics
   (invitations, connector status).
3. ``/users?limit=10000`` and ``/identities?state=all&limit=10000`` latency (median of three)
   on the first worker (``users_list_ms``, ``identities_ms``).
4. A fresh worker of the same app id with an empty cache recovers the tables from the
   changelogs (with ``store``, then with the RocksDB store): seconds from start to complete
   views (``recover_memory_*``, ``recover_compact_*``, ``recover_rocksdb_*``).
5. A rebuild: ``workers`` new workers under a new app id read everything again.

Peak RSS of a worker is its ``VmHWM``. The documented limits are the settings' defaults.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from streams.bench import benchmark
from streams.bench.pipeline import Fold, bench_broker, raw_consume
from streams.bench.sync import START_DATE, spawn_simulator
from streams.client.api import API_VERSION
from streams.client.endpoints import EFFECTIVE_SPEND_LIMITS, SUMMARIES
from streams.config import Settings
from streams.events.topics import USAGE_DELTAS
from streams.kafkaio import ensure_topics
from streams.kafkaio.reader import topic_ends
from streams.kafkaio.security import KafkaSecurity
from streams.simulator import SimConfig
from streams.worker.agents.members import MEMBER_FOLDS, member_decoder
from streams.worker.barrier import committed_offsets
from streams.worker_process import WorkerProcess, worker_environment

DEMO_LIMITS = {"admin": 600.0, "analytics": 600.0, "spend_limits": 600.0}
TOKEN = "bench-scale-token"
LIST_LIMIT = "10000"
LIST_TIMEOUT_SECONDS = 300.0
"""A page of 10,000 members merged from several workers of a large org takes seconds."""
WARM_TIMEOUT_SECONDS = 600.0
"""The simulator's first summaries answer at 100,000 members takes about a minute."""
SETTLE_SECONDS = 1.0
"""How often the workers' progress is read while they apply the backlog."""


@dataclass(frozen=True)
class Collection:
    """One ``poll --once`` run: what it published, how long it took, its bound and peak RSS."""

    events: int
    wall_s: float
    bound_s: float
    requests: dict[str, int]
    peak_rss_mb: float

    def figures(self, label: str) -> dict[str, Any]:
        return {
            f"{label}_events": self.events,
            f"{label}_wall_s": round(self.wall_s, 2),
            f"{label}_bound_s": round(self.bound_s, 2),
            f"{label}_ratio": round(self.wall_s / self.bound_s, 3),
            f"{label}_requests": self.requests,
            f"{label}_poller_peak_rss_mb": self.peak_rss_mb,
        }


def peak_rss_mb(pid: int) -> float:
    """A live process's peak resident set (``VmHWM``) in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return round(int(match.group(1)) / 1024, 1) if match else float("nan")


def _reap(process: subprocess.Popen[bytes], timeout: float) -> tuple[int, float]:
    """(exit code, peak RSS MB) of ``process`` from ``wait4``; killed after ``timeout``."""
    killer = threading.Timer(timeout, process.kill)
    killer.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        killer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, round(usage.ru_maxrss / 1024, 1)


async def _collect(
    env: dict[str, str], limits: dict[str, float], users: int, days: int, timeout: float
) -> Collection:
    """Start a simulator at ``limits`` and run ``poll --once`` against it."""
    config = SimConfig()
    simulator, url = await spawn_simulator(
        [
            "--users", str(users),
            "--start-date", START_DATE.isoformat(),
            "--admin-rate", f"{limits['admin']:g}",
            "--analytics-rate", f"{limits['analytics']:g}",
            "--spend-limits-rate", f"{limits['spend_limits']:g}",
        ]
    )
    try:
        await _warm(url, config)
        poller_env = {
            **env,
            "CLAUDE_API_BASE_URL": url,
            "CLAUDE_ANALYTICS_API_KEY": config.analytics_key,
            "CLAUDE_ADMIN_API_KEY": config.admin_key,
            "CONNECTOR_NAME": "bench",
            "REVISION_WINDOW_DAYS": str(days),
            "ADMIN_RATE_PER_MINUTE": f"{limits['admin']:g}",
            "ANALYTICS_RATE_PER_MINUTE": f"{limits['analytics']:g}",
            "SPEND_LIMITS_RATE_PER_MINUTE": f"{limits['spend_limits']:g}",
        }
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "streams", "poll", "--once"],
            env=poller_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert process.stdout is not None
        with process.stdout:
            out = (await asyncio.to_thread(process.stdout.read)).decode()
        code, rss = await asyncio.to_thread(_reap, process, timeout)
        wall = time.perf_counter() - started
        if code != 0:
            raise RuntimeError(f"poll --once exited {code}: {out[-2000:]}")
        async with httpx.AsyncClient(base_url=url) as http:
            stats = (await http.get("/_sim/stats")).json()
    finally:
        simulator.terminate()
        await simulator.wait()
    requests = {family: int(stats.get(f"requests:{family}", 0)) for family in limits}
    bound = max(requests[family] * 60 / rate for family, rate in limits.items())
    return Collection(
        events=_count(out, r": (\d+) events"),
        wall_s=wall,
        bound_s=bound,
        requests=requests,
        peak_rss_mb=rss,
    )


async def _warm(url: str, config: SimConfig) -> None:
    """Have the simulator compute its spend limits and activity figures before the clock starts.

    The simulator works out every member's spend so far at the first spend-limits request (at
    100,000 members longer than the poller's 30 s request timeout) and who was active on each
    day at the first summaries request (about ten seconds per 20,000 members), on the CPU the
    poller also needs; a real API has them at hand. The spend limits are asked first, so that
    their request is out of the simulator's one-minute rate window when the poller's first
    minute ends. Both requests are then taken out of the simulator's counts.
    """
    async with httpx.AsyncClient(base_url=url, timeout=WARM_TIMEOUT_SECONDS) as http:
        limits = await http.get(
            EFFECTIVE_SPEND_LIMITS.path,
            params={"limit": 1},
            headers={"x-api-key": config.admin_key, "anthropic-version": API_VERSION},
        )
        limits.raise_for_status()
        response = await http.get(
            SUMMARIES.path,
            params={"starting_date": (START_DATE - timedelta(days=31)).isoformat()},
            headers={"x-api-key": config.analytics_key},
        )
        response.raise_for_status()
        (await http.delete("/_sim/stats")).raise_for_status()


def _count(output: str, pattern: str) -> int:
    return sum(int(found) for found in re.findall(pattern, output))


async def _applied(workers: list[WorkerProcess]) -> int:
    total = 0
    for worker in workers:
        try:
            health = (await worker.get("/health")).json()
        except httpx.HTTPError:
            continue
        total += sum(health.get("events", {}).values())
    return total


async def _committed_all(env: dict[str, str], security: KafkaSecurity) -> bool:
    """Whether the workers' group committed every message of the per-member input topics.

    The poller writes in transactions, so a partition's last offset is a commit marker and
    the group's commit may stop one short of the end.
    """
    bootstrap, prefix = env["KAFKA_BOOTSTRAP_SERVERS"], env["TOPIC_PREFIX"]
    for spec, _ in MEMBER_FOLDS:
        topic = spec.name(prefix)
        ends = await topic_ends(bootstrap, topic, security=security)
        committed = await committed_offsets(bootstrap, env["WORKER_APP_ID"], topic,
                                            security=security)
        if any(committed.get(partition, 0) < end - 1 for partition, end in ends.items() if end):
            return False
    return True


async def _serve(
    env: dict[str, str], security: KafkaSecurity, count: int, workdir: Path, label: str,
    members: int, timeout: float,
) -> dict[str, Any]:
    """Start ``count`` workers; figures until they committed every input message and list
    ``members``. Events/s counts from the first worker ready (it applies while the others still
    start) until the applied count last grew; ready is when every worker is, complete is when
    all of that held.

    The workers are left running in the returned ``"processes"`` (the caller stops them).
    """
    workers = [
        WorkerProcess(env, workdir / "logs" / label, token=TOKEN, loglevel="warn")
        for _ in range(count)
    ]
    spawned = time.perf_counter()
    for worker in workers:
        worker.start()
    ready_at: list[float] = []

    async def ready(worker: WorkerProcess) -> None:
        await worker.wait_ready(timeout)
        ready_at.append(time.perf_counter())

    try:
        await asyncio.gather(*(ready(worker) for worker in workers))
        last_growth = ready_at[-1]
        applied, previous = 0, -1
        async with asyncio.timeout(timeout):
            while not (applied == previous and await _committed_all(env, security)
                       and await workers[0].holds_members(members)):
                previous = applied
                await asyncio.sleep(SETTLE_SECONDS)
                applied = await _applied(workers)
                if applied != previous:
                    last_growth = time.perf_counter()
    except BaseException:
        for worker in workers:
            worker.stop()
        raise
    done = time.perf_counter() - SETTLE_SECONDS
    return {
        "processes": workers,
        f"{label}_ready_s": round(ready_at[-1] - spawned, 2),
        f"{label}_complete_s": round(done - spawned, 2),
        f"{label}_events": applied,
        f"{label}_events_per_s": round(applied / max(last_growth - ready_at[0], 1e-3)),
        f"{label}_peak_rss_mb": [peak_rss_mb(w.process.pid) for w in workers if w.process],
    }


def documented_limits() -> dict[str, float]:
    """The documented rate limits per minute: the settings' defaults."""
    defaults = Settings.load({})
    return {"admin": defaults.admin_rate_per_minute,
            "analytics": defaults.analytics_rate_per_minute,
            "spend_limits": defaults.spend_limits_rate_per_minute}


async def _list_latency_ms(worker: WorkerProcess, path: str, **params: str) -> float:
    """The median of three reads of one page of ``path``."""
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        response = await worker.get(path, limit=LIST_LIMIT, timeout=LIST_TIMEOUT_SECONDS, **params)
        response.raise_for_status()
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 1)


async def _recover(
    env: dict[str, str], security: KafkaSecurity, workdir: Path, label: str, store: str,
    members: int, timeout: float,
) -> dict[str, Any]:
    """A fresh worker (empty cache) of the same app id, ``store`` as its table store."""
    fresh = {**env, "CLAUDE_CONNECTOR_CACHE": str(workdir / label), "WORKER_STORE": store}
    figures = await _serve(fresh, security, 1, workdir, label, members, timeout)
    _stop(figures.pop("processes"))
    figures.pop(f"{label}_events_per_s")
    figures.pop(f"{label}_events")
    return figures


def _progress(figures: dict[str, Any]) -> None:
    """The figures so far on stderr (a long run that is cut short still reports them)."""
    print(orjson.dumps(figures).decode(), file=sys.stderr, flush=True)


def _stop(workers: list[WorkerProcess]) -> None:
    for worker in workers:
        worker.stop()


async def _fold_rate(
    bootstrap: str, folds: dict[str, Fold], security: KafkaSecurity
) -> tuple[int, int]:
    """(events, events per second) of one raw consumer folding the ``folds``' topics."""
    events, seconds = await raw_consume(bootstrap, folds, security=security)
    return events, round(events / seconds)


async def _measure(
    bootstrap: str, security: KafkaSecurity, workdir: Path, *, users: int, workers: int,
    partitions: int, days: int, limits: str, store: str, timeout: float,
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    base_env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "TOPIC_PARTITIONS": str(partitions), **security.environment()}
    if limits == "both":
        throwaway = f"scaledemo{uuid.uuid4().hex[:6]}."
        await ensure_topics(bootstrap, throwaway, partitions, security=security)
        demo = await _collect(
            {**base_env, "TOPIC_PREFIX": throwaway}, DEMO_LIMITS, users, days, timeout
        )
        figures.update(demo.figures("demo_limits"))
    label, chosen = ("demo_limits", DEMO_LIMITS) if limits == "demo" else (
        "documented_limits", documented_limits())
    prefix = f"scale{uuid.uuid4().hex[:6]}."
    await ensure_topics(bootstrap, prefix, partitions, security=security)
    collection = await _collect(
        {**base_env, "TOPIC_PREFIX": prefix}, chosen, users, days, timeout
    )
    figures.update(collection.figures(label))
    figures["baseline"] = f"first collection's rate-limit bound at the {label.replace('_', ' ')}"
    figures["ratio"] = round(collection.wall_s / collection.bound_s, 3)
    _progress(figures)
    folds = {spec.name(prefix): (member_decoder(spec), apply) for spec, apply in MEMBER_FOLDS}
    usage = {USAGE_DELTAS.name(prefix): folds[USAGE_DELTAS.name(prefix)]}
    figures["raw_fold_events"], first_raw = await _fold_rate(bootstrap, folds, security)
    _, figures["raw_usage_fold_per_s"] = await _fold_rate(bootstrap, usage, security)
    app_id = f"scale-{uuid.uuid4().hex[:6]}"
    env = worker_environment(
        bootstrap, prefix, app_id, workdir / "cache", partitions=partitions, token=TOKEN,
        extra={**security.environment(), "WORKER_STORE": store},
    )
    first = await _serve(env, security, workers, workdir, "apply", users, timeout)
    running = first.pop("processes")
    try:
        figures.update(first)
        figures["users_list_ms"] = await _list_latency_ms(running[0], "/users")
        figures["identities_ms"] = await _list_latency_ms(running[0], "/identities", state="all")
    finally:
        _stop(running)
    raw_runs = [first_raw, (await _fold_rate(bootstrap, folds, security))[1]]
    figures["raw_fold_runs_per_s"] = raw_runs
    figures["raw_fold_per_s"] = round(statistics.fmean(raw_runs))
    figures["worker_vs_raw"] = round(figures["apply_events_per_s"] / figures["raw_fold_per_s"], 3)
    figures["worker_vs_raw_usage"] = round(
        figures["apply_events_per_s"] / figures["raw_usage_fold_per_s"], 3
    )
    _progress(figures)
    for recovered in dict.fromkeys((store, "rocksdb://")):
        label = f"recover_{recovered.removesuffix('://')}"
        figures.update(await _recover(env, security, workdir, label, recovered, users, timeout))
        _progress(figures)
    rebuild_env = {**env, "WORKER_APP_ID": f"{app_id}-rebuild",
                   "CLAUDE_CONNECTOR_CACHE": str(workdir / "rebuild-cache")}
    rebuild = await _serve(rebuild_env, security, workers, workdir, "rebuild", users, timeout)
    _stop(rebuild.pop("processes"))
    figures.update(rebuild)
    return figures


async def _run(**options: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as temp:
        workdir = Path(temp)
        async with bench_broker(workdir) as (bootstrap, security, broker):
            figures = await _measure(bootstrap, security, workdir, **options)
    return {"users": options["users"], "workers": options["workers"],
            "partitions": options["partitions"], "days": options["days"],
            "store": options["store"], "broker": broker,
            **figures}


@benchmark("scale")
def scale(
    users: int = 20_000, workers: int = 1, partitions: int = 6, days: int = 2,
    limits: str = "both", store: str = "memory://", timeout: float = 1800.0,
) -> dict[str, Any]:
    """A first collection, workers applying it, recovery and a rebuild; see the module docstring."""
    if limits not in ("documented", "demo", "both"):
        raise ValueError("limits must be documented, demo or both")
    return asyncio.run(_run(users=users, workers=workers, partitions=partitions, days=days,
                            limits=limits, store=store, timeout=timeout))
