"""Where the webhook delivery starts: its own group's position, else the worker group's."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streams.config import Settings
from streams.events.topics import SHADOW_IT_ALERTS
from streams.kafkaio import ensure_topics
from streams.worker.agents.webhook import WebhookDeliveries, commit_offsets, group_id

pytestmark = pytest.mark.kafka


async def committed(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return {tp: meta.offset
                for tp, meta in (await admin.list_consumer_group_offsets(group)).items()}
    finally:
        await admin.close()


async def test_a_new_delivery_group_starts_where_the_worker_group_left_the_alerts(
    kafka_bootstrap: str, tmp_path: Path
):
    prefix = f"wp{uuid.uuid4().hex[:8]}."
    await ensure_topics(kafka_bootstrap, prefix, 2)
    alerts = TopicPartition(SHADOW_IT_ALERTS.name(prefix), 1)
    other = TopicPartition(f"{prefix}user-events", 0)

    def deliveries(app_id: str) -> WebhookDeliveries:
        return WebhookDeliveries(Settings.load({
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "TOPIC_PREFIX": prefix,
            "WORKER_APP_ID": app_id, "CLAUDE_CONNECTOR_CACHE": str(tmp_path),
            "ALERT_WEBHOOK_URL": "http://127.0.0.1:9/hook",
        }))

    upgraded = f"upgraded-{uuid.uuid4().hex[:6]}"
    await commit_offsets(kafka_bootstrap, upgraded, {alerts: 3, other: 7})
    await deliveries(upgraded).adopt_position()
    assert await committed(kafka_bootstrap, group_id(upgraded)) == {alerts: 3}

    await commit_offsets(kafka_bootstrap, group_id(upgraded), {alerts: 5})
    await deliveries(upgraded).adopt_position()
    assert await committed(kafka_bootstrap, group_id(upgraded)) == {alerts: 5}, "its own wins"

    fresh = f"fresh-{uuid.uuid4().hex[:6]}"
    await deliveries(fresh).adopt_position()
    assert await committed(kafka_bootstrap, group_id(fresh)) == {}
