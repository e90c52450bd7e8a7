"""``claude-connector bench pipeline``: usage deltas through the real worker vs raw aiokafka.

1. Produce ``events`` usage deltas (``users`` members x days x the four metric families, one
   revision each) to a fresh topic prefix on a real broker: ``KAFKA_BOOTSTRAP_SERVERS`` when
   set, else a ``LocalKafka`` started on free ports for the run.
2. Baseline: one raw ``AIOKafkaConsumer`` reads the same topic from offset 0, decodes every
   value with the same codec and applies it with the same ``WorkerState`` to plain dicts,
   each batch under the same garbage-collection regime as the worker's (``SettledHeap``)
   (``read_only_per_s`` is the same read without decoding or applying, for context).
3. The worker: ``claude-connector worker`` as a child process with a fresh app id; the clock
   starts when ``/health`` is ready (tables recovered, nothing to recover) and stops when the
   ``events`` it reports applied for the topic reach ``events``. That run includes
   everything the worker does per event: decode, fold, rules, changelog writes, commits.

``ratio`` = worker events/s / baseline events/s (target >= 0.3).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.bench import benchmark
from streams.config import Settings
from streams.events.codec import default_codec
from streams.events.keys import usage_event_id, user_key
from streams.events.records import MetricFamily, Source, UsageDelta
from streams.events.topics import USAGE_DELTAS
from streams.heap import SettledHeap
from streams.kafkaio import ensure_topics
from streams.kafkaio.reader import partition_numbers
from streams.kafkaio.security import PLAINTEXT, KafkaSecurity
from streams.localkafka import LocalKafka, free_port
from streams.worker.agents.members import member_decoder
from streams.worker.batch import Apply
from streams.worker.rules import Policy
from streams.worker.state import Tables, WorkerState
from streams.worker_process import WorkerProcess, worker_environment

ORG = "org_bench"
FAMILIES = (MetricFamily.MESSAGES, MetricFamily.SESSIONS, MetricFamily.TOKENS, MetricFamily.COST)
METRICS = {
    MetricFamily.MESSAGES: ("messages",),
    MetricFamily.SESSIONS: ("sessions",),
    MetricFamily.TOKENS: ("input", "output", "total"),
    MetricFamily.COST: ("usd_micros",),
}


def deltas(events: int, users: int) -> list[UsageDelta]:
    """``events`` distinct usage deltas: member, then family, then day varies fastest."""
    start = date(2026, 1, 1)
    observed = datetime(2026, 6, 1, tzinfo=UTC)
    found = []
    for number in range(events):
        user = f"user_{number % users:06d}"
        rest = number // users
        family = FAMILIES[rest % len(FAMILIES)]
        day = start + timedelta(days=rest // len(FAMILIES))
        totals = {metric: 1 + (number * 7 + i) % 500 for i, metric in enumerate(METRICS[family])}
        found.append(
            UsageDelta(
                event_id=usage_event_id(ORG, user, day, family, 1, totals),
                org_id=ORG,
                user_id=user,
                email=f"{user}@bench.example",
                day=day,
                family=family,
                delta=totals,
                totals=totals,
                revision=1,
                baseline=False,
                source=Source.USAGE_REPORT,
                connector="bench",
                poll_id="bench:1",
                observed_at=observed,
            )
        )
    return found


async def _produce(
    bootstrap: str, topic: str, records: list[UsageDelta], security: KafkaSecurity
) -> float:
    codec = default_codec()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=20,
        max_batch_size=256 * 1024,
        **security.client_options(),
    )
    await producer.start()
    started = time.perf_counter()
    try:
        for record in records:
            await producer.send(
                topic, key=user_key(record.org_id, record.user_id), value=codec.encode(record)
            )
        await producer.flush()
    finally:
        await producer.stop()
    return time.perf_counter() - started


Fold = tuple[Callable[[Any], Any], Apply]
"""How a raw consumer folds a topic's messages: decode one, then apply it to the state."""


async def raw_consume(
    bootstrap: str, folds: Mapping[str, Fold | None], *, security: KafkaSecurity
) -> tuple[int, float]:
    """A raw consumer reads the ``folds``' topics from their beginning to their current end,
    each message decoded and applied to one ``WorkerState`` over plain dicts by its topic's
    fold (None: read only), committed messages only, as a worker reads them: (messages,
    seconds)."""
    state = WorkerState(Tables.empty(), Policy())
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        max_partition_fetch_bytes=4 << 20,
        **security.client_options(),
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, number) for topic in folds
               for number in await partition_numbers(bootstrap, topic, security=security)]
        ends = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen = 0
        heap = SettledHeap()
        started = time.perf_counter()
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000, max_records=10_000)
            with heap.working():
                for tp, messages in batch.items():
                    seen += len(messages)
                    fold = folds[tp.topic]
                    if fold is not None:
                        decode, apply = fold
                        for message in messages:
                            apply(state, decode(message), tp.partition)
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
        return seen, time.perf_counter() - started
    finally:
        await consumer.stop()


async def _worker_run(
    bootstrap: str,
    prefix: str,
    topic: str,
    count: int,
    partitions: int,
    workdir: Path,
    timeout: float,
    security: KafkaSecurity,
) -> float:
    env = worker_environment(
        bootstrap,
        prefix,
        f"bench-{uuid.uuid4().hex[:8]}",
        workdir / "cache",
        partitions=partitions,
        extra=security.environment(),
    )
    worker = WorkerProcess(env, workdir / "logs", loglevel="warn")
    worker.start()
    try:
        await worker.wait_ready()
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            health = (await worker.get("/health")).json()
            if health.get("events", {}).get(topic, 0) >= count:
                return time.perf_counter() - started
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the worker did not apply {count} events within {timeout:.0f}s")
    finally:
        worker.stop()


@contextlib.asynccontextmanager
async def bench_broker(workdir: Path) -> AsyncIterator[tuple[str, KafkaSecurity, str]]:
    """(bootstrap, security, description): ``KAFKA_BOOTSTRAP_SERVERS`` (with the Kafka security
    settings) when set, else a ``LocalKafka`` on free ports with its data under ``workdir``,
    stopped on exit."""
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if given:
        yield given, KafkaSecurity.from_settings(Settings.load()), "given"
        return
    broker = LocalKafka(
        data_dir=workdir / "kafka",
        cache_dir=Settings.load().cache_dir,
        port=free_port(),
        controller_port=free_port(),
    )
    bootstrap = (await asyncio.to_thread(broker.start)).bootstrap
    try:
        yield bootstrap, PLAINTEXT, "local (started for the run)"
    finally:
        await asyncio.to_thread(broker.stop)


async def _run(events: int, users: int, partitions: int, timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as temp:
        workdir = Path(temp)
        async with bench_broker(workdir) as (bootstrap, security, broker):
            prefix = f"bench{uuid.uuid4().hex[:8]}."
            topic = USAGE_DELTAS.name(prefix)
            await ensure_topics(bootstrap, prefix, partitions, security=security)
            records = deltas(events, users)
            produce_s = await _produce(bootstrap, topic, records, security)
            _, read_s = await raw_consume(bootstrap, {topic: None}, security=security)
            fold = (member_decoder(USAGE_DELTAS), WorkerState.apply_usage_delta)
            _, baseline_s = await raw_consume(bootstrap, {topic: fold}, security=security)
            worker_s = await _worker_run(
                bootstrap, prefix, topic, events, partitions, workdir, timeout, security
            )
    worker_rate = events / worker_s
    baseline_rate = events / baseline_s
    return {
        "events": events,
        "users": users,
        "partitions": partitions,
        "broker": broker,
        "produce_per_s": round(events / produce_s),
        "read_only_per_s": round(events / read_s),
        "baseline_per_s": round(baseline_rate),
        "worker_per_s": round(worker_rate),
        "worker_seconds": round(worker_s, 2),
        "baseline": "raw aiokafka consumer + the same decode and WorkerState fold into dicts",
        "ratio": round(worker_rate / baseline_rate, 3),
        "ratio_vs_read_only": round(worker_rate * read_s / events, 3),
    }


@benchmark("pipeline")
def pipeline(
    events: int = 200_000, users: int = 2_000, partitions: int = 2, timeout: float = 900.0
) -> dict[str, Any]:
    """Usage deltas through the worker's agents into tables vs a raw aiokafka consumer."""
    return asyncio.run(_run(events, users, partitions, timeout))
