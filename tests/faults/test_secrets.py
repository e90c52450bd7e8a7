"""Scenario 5: the secrets never surface.

The poller runs as the CLI at debug log level against a simulator that quotes the presented
key in every error body (401, 410, 429 and malformed answers), into the topics the shared
worker reads; the worker holds the canary API keys in its environment too. No canary (API
keys, web token, webhook secret) may appear in the CLI's output and logs, any topic of the
prefix (events, status, poller state, dead letters, alerts), the worker's changelogs and logs,
or any view or metric. The other scenarios run with the same canaries and count their leaks.
"""

from __future__ import annotations

import asyncio
import os
import sys

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from streams.events.topics import TOPICS
from tests.faults.audit import injected
from tests.faults.harness import worker_logs
from tests.faults.ledger import CANARY_WEB_TOKEN, SECRETS, leaks_in, topic_leaks
from tests.fixtures.poller import poller_env
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.kafka

HOSTILE_CYCLES = (
    {},
    {"revoke_keys": True, "echo_key": True},
    {"expire_cursor_rate": 1.0, "page_size": 10, "echo_key": True},
    {"rate_limit_storm": True, "storm_retry_after": 0, "echo_key": True},
    {"malformed_rate": 1.0, "malformed_mode": "types", "echo_key": True},
    {},
)
VIEWS = (("/health", {}), ("/users", {"status": "all"}), ("/alerts", {"state": "all"}),
         ("/status", {}), ("/metrics", {}), ("/users/nobody", {}))


async def poll_cli(env: dict[str, str]) -> tuple[int, bytes]:
    """``claude-connector -vv poll --once``: exit code and everything it printed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streams", "-vv", "poll", "--once",
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output


async def changelog_topics(bootstrap: str, app_id: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sorted(name for name in await admin.list_topics() if name.startswith(app_id))
    finally:
        await admin.close()


async def test_no_secret_in_output_logs_topics_views_or_metrics(canary_sim, shared_worker, ledger):
    worker, bootstrap, prefix = shared_worker.process, shared_worker.bootstrap, shared_worker.prefix
    sim = await canary_sim(users=40, seed=12)
    env = poller_env(sim, bootstrap, prefix=prefix, connector="secrets")
    outputs, codes = [], []
    for faults in HOSTILE_CYCLES:
        await sim.faults(**faults)
        code, output = await poll_cli(env)
        codes.append(code)
        outputs.append(output)
    echoed = injected(await sim.stats())

    async def status_shown():
        body = (await worker.get("/status")).json()
        return [row for row in body["data"] if row["connector"] == "secrets"]

    await eventually(status_shown)
    unauthorised = []
    async with httpx.AsyncClient(base_url=worker.url, timeout=10) as client:
        for header in ("Bearer nope", f"Bearer {CANARY_WEB_TOKEN}x"):
            unauthorised.append(await client.get("/users", headers={"Authorization": header}))
    views = [await worker.get(path, **params) for path, params in VIEWS]
    app_id = worker.env["WORKER_APP_ID"]
    leaks = {
        "poller output": leaks_in(outputs),
        "topics": await topic_leaks(bootstrap, [spec.name(prefix) for spec in TOPICS]),
        "worker changelogs": await topic_leaks(bootstrap,
                                               await changelog_topics(bootstrap, app_id)),
        "worker logs": leaks_in(worker_logs(worker)),
        "views and metrics": leaks_in(r.content for r in [*views, *unauthorised]),
    }
    ledger.add("secrets: hostile API, CLI at debug, worker", cycles=len(HOSTILE_CYCLES),
               faults_injected=echoed, leaks=sum(leaks.values()))

    assert codes[0] == 0 and codes[-1] == 0 and all(codes[1:-1]), codes
    assert echoed >= len(HOSTILE_CYCLES) - 2, "the simulator never quoted a key"
    assert b"[redacted]" in b"".join(outputs), "the quoted key was never seen, so never tested"
    assert all(view.status_code in (200, 404) for view in views), views
    assert not any(leaks.values()), leaks
    for secret in SECRETS:  # also no tell-tale fragment (the tail of a key, say)
        assert leaks_in([*outputs, *worker_logs(worker)], [secret[-12:]]) == 0
