"""The worker with ``WORKER_STORE=rocksdb://`` (tables on disk) or ``compact://`` (encoded rows
in memory): the tables survive a SIGKILL and a restart.

The batch writer puts values into the stores itself (with the causing message's partition and
the changelog offsets it wrote), not through Faust's table API. With RocksDB, one database per
table and partition, a restarted worker opens them from disk and recovers from the changelog;
the compact store recovers everything from the changelog.
Every member gets one cost delta per day; after a SIGKILL in the middle of the stream, and again
after a clean restart, each member's total must equal its number of days.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import httpx
import pytest

from streams.events.records import MetricFamily, UserOp
from streams.kafkaio import ensure_topics
from tests.fixtures.waiting import eventually
from tests.fixtures.worker import ORG, WorkerProcess, produce, start_worker, usage_delta, user_event

pytestmark = pytest.mark.kafka

MEMBERS = 30
DAYS = 100
FIRST_DAY = date(2026, 8, 1)


async def totals(worker: WorkerProcess) -> dict[str, int]:
    """Each member's COST total as the worker's views show it."""
    found = {}
    async with httpx.AsyncClient(base_url=worker.url, timeout=10) as views:
        for n in range(MEMBERS):
            response = await views.get(f"/users/{ORG}:user_{n}")
            if response.status_code == 200:
                cost = response.json()["data"]["usage"]["totals"].get("COST", {})
                found[f"user_{n}"] = cost.get("usd_micros", 0)
    return found


@pytest.mark.parametrize("store", ["rocksdb://", "compact://"])
async def test_tables_survive_a_sigkill_and_a_restart(kafka_bootstrap, tmp_path, store):
    prefix = f"rk{uuid.uuid4().hex[:8]}."
    await ensure_topics(kafka_bootstrap, prefix, 2)
    members = [user_event(UserOp.SNAPSHOT, f"user_{n}", f"u{n}@acme.com", baseline=True)
               for n in range(MEMBERS)]
    deltas = [usage_delta(f"user_{n % MEMBERS}", FIRST_DAY + timedelta(days=n // MEMBERS),
                          {"usd_micros": 1}, family=MetricFamily.COST)
              for n in range(MEMBERS * DAYS)]
    half = len(deltas) // 2
    await produce(kafka_bootstrap, prefix, members + deltas[:half])
    worker = start_worker(kafka_bootstrap, prefix, f"rocks-{uuid.uuid4().hex[:8]}", tmp_path,
                          env={"WORKER_STORE": store, "CORPORATE_DOMAINS": "acme.com"})
    want = {f"user_{n}": DAYS for n in range(MEMBERS)}
    try:
        await worker.wait_ready()
        await asyncio.sleep(0.5)
        worker.kill()
        await produce(kafka_bootstrap, prefix, deltas[half:])
        worker.start()
        await worker.wait_ready()

        async def complete() -> bool:
            return await totals(worker) == want

        await eventually(complete, timeout=90)
        on_disk = list(tmp_path.rglob("*.db"))
        assert bool(on_disk) == (store == "rocksdb://"), "only RocksDB keeps databases on disk"

        worker.stop()
        worker.start()
        await worker.wait_ready()
        assert await totals(worker) == want, "read back (from disk and) the changelog"
    finally:
        worker.stop()
