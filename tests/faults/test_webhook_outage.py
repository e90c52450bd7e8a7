"""Scenario 8: the webhook endpoint is away for longer than the retry window, and the worker
is killed and started again during the outage.

The endpoint first answers 503 with ``Retry-After``, then is gone (connections refused) for
longer than the retry window a delivery once had; alerts keep being raised before, during and
after the worker's restart. When the endpoint is back, every alert event on the alerts topic
must have reached it with a 2xx (by ``event_id``), none accepted twice, and the URL (its path
holds a credential, as Slack's do) must be in no log line.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest
from aiohttp import web

from streams.events.records import UserOp
from streams.events.topics import SHADOW_IT_ALERTS
from streams.kafkaio import ensure_topics
from streams.localkafka import free_port
from streams.worker.webhook import EVENT_ID_HEADER
from tests.faults.harness import fault_worker, worker_logs
from tests.faults.ledger import SECRETS, leaks_in
from tests.fixtures.topics import read_topic
from tests.fixtures.waiting import eventually
from tests.fixtures.worker import produce, user_event

pytestmark = pytest.mark.kafka

URL_CREDENTIAL = "canary-webhook-path-Qe3Rt6Yu9Io2"
BACKOFF_CAP_SECONDS = 1.0
RETRY_WINDOW_SECONDS = 3.5
"""How long a delivery used to keep trying before it gave an event up (4 tries, 0.5 s doubling)."""
OUTAGE_SECONDS = 3 * RETRY_WINDOW_SECONDS
MEMBERS_PER_WAVE = 4


class Endpoint:
    """The webhook receiver on a fixed port: unavailable (503), gone, or taking events (204)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.available = False
        self.refused = 0
        self.accepted: Counter[str] = Counter()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/T0/B0/{URL_CREDENTIAL}"

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        if not self.available:
            self.refused += 1
            return web.Response(status=503, headers={"Retry-After": "1"})
        self.accepted[request.headers[EVENT_ID_HEADER]] += 1
        return web.Response(status=204)

    async def start(self, *, available: bool) -> None:
        self.available = available
        app = web.Application()
        app.router.add_post("/services/T0/B0/{credential}", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def wave(number: int) -> list:
    """Members on personal addresses: each raises alerts."""
    return [
        user_event(UserOp.SNAPSHOT, f"user_w{number}_{n}", f"w{number}.{n}@gmail.com",
                   baseline=True, poll=number)
        for n in range(MEMBERS_PER_WAVE)
    ]


async def test_a_webhook_outage_across_a_worker_restart_loses_no_alert(
    kafka_bootstrap, tmp_path, ledger
):
    prefix = f"wh{uuid.uuid4().hex[:8]}."
    alerts_topic = SHADOW_IT_ALERTS.name(prefix)
    await ensure_topics(kafka_bootstrap, prefix, 2)
    endpoint = Endpoint()
    await endpoint.start(available=False)
    worker = fault_worker(kafka_bootstrap, prefix, f"webhook-{uuid.uuid4().hex[:8]}", tmp_path,
                          ALERT_WEBHOOK_URL=endpoint.url,
                          WEBHOOK_BACKOFF_MAX_SECONDS=str(BACKOFF_CAP_SECONDS))
    loop = asyncio.get_running_loop()

    async def alert_ids() -> set[str]:
        return {m.value["event_id"] for m in await read_topic(kafka_bootstrap, alerts_topic)}

    try:
        await worker.wait_ready()
        await produce(kafka_bootstrap, prefix, wave(1))

        async def refused_twice() -> bool:
            return endpoint.refused >= 2

        await eventually(refused_twice)
        await endpoint.stop()  # gone: connections refused from now on
        down_since = loop.time()
        await produce(kafka_bootstrap, prefix, wave(2))

        async def wave_raised(count: int) -> set[str] | None:
            found = await alert_ids()
            return found if len(found) >= count * MEMBERS_PER_WAVE else None

        await eventually(lambda: wave_raised(2))
        worker.kill()
        worker.start()
        await worker.wait_ready()
        await produce(kafka_bootstrap, prefix, wave(3))
        await eventually(lambda: wave_raised(3))
        await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (loop.time() - down_since)))
        outage = loop.time() - down_since
        assert not endpoint.accepted, "nothing was taken while the endpoint was away"
        await endpoint.start(available=True)

        async def all_delivered() -> bool:
            return set(endpoint.accepted) >= await alert_ids()

        await eventually(all_delivered, timeout=60)
        raised = await alert_ids()
    finally:
        worker.stop()
        await endpoint.stop()
    logs = worker_logs(worker)
    tally = ledger.add(
        "webhook outage across a worker restart",
        cycles=1,
        faults_injected=endpoint.refused + 2,  # the 503s, the outage, the kill
        lost_changes=len(raised - set(endpoint.accepted)),
        duplicate_effects=sum(count - 1 for count in endpoint.accepted.values()),
        leaks=leaks_in(logs, [*SECRETS, URL_CREDENTIAL]),
    )
    assert outage >= OUTAGE_SECONDS > RETRY_WINDOW_SECONDS
    assert len(raised) >= 3 * MEMBERS_PER_WAVE
    assert tally.failures == 0, tally
    assert any("webhook did not take" in log for log in logs), "the outage was seen"
