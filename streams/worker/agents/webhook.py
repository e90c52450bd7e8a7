"""The topics of ``webhook.DELIVERIES`` → the webhook (when ``ALERT_WEBHOOK_URL`` is set).

The delivery keeps its place on those topics as the committed offsets of its own consumer
group, ``<WORKER_APP_ID>.webhook``: an event's offset is committed only once the endpoint
took it with a 2xx (or refused it for good), one event at a time in each partition. While the
endpoint is down the delivery waits on that event and the worker's other work goes on; a
restart, or another worker taking the partition over, starts again at the first event not
delivered, so at most the event in flight is sent twice. A group that has never committed
starts where the worker's own group (``WORKER_APP_ID``) left the topics, if it read them
(versions before this one delivered in that group), else at their beginning.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from streams.config import Settings
from streams.errors import CodecError
from streams.kafkaio.security import KafkaSecurity
from streams.worker.batch import decoder
from streams.worker.context import WorkerContext
from streams.worker.webhook import DELIVERIES, Delivery, WebhookSender, event_body

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_SECONDS = 10.0
RESTART_SECONDS = 5.0
POLL_INTERVAL_MS = 60 * 60 * 1000
"""How long the delivery may hold one event (the endpoint down) before the group counts it
gone; a longer wait only means the partition is read again from its committed offset."""


def group_id(app_id: str) -> str:
    """The consumer group whose committed offsets are the webhook's position."""
    return f"{app_id}.webhook"


async def commit_offsets(bootstrap: str, group: str, offsets: dict[TopicPartition, int],
                         **client_options: Any) -> None:
    """Commit ``offsets`` for ``group`` without joining it."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False, **client_options)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


class WebhookDeliveries:
    """Reads the deliveries' topics in the webhook's group; sends each event, then commits."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client_options = KafkaSecurity.from_settings(settings).client_options()
        self._by_topic = {
            delivery.topic.name(settings.topic_prefix): delivery for delivery in DELIVERIES
        }
        self._decoders = {
            topic: decoder(delivery.topic.record) for topic, delivery in self._by_topic.items()
        }

    async def run(self) -> None:
        """Deliver until cancelled (the worker stopping); a Kafka failure starts it again."""
        while True:
            try:
                await self.run_once()
            except KafkaError as exc:
                log.warning("webhook delivery stopped (%s); starting again in %.0fs",
                            type(exc).__name__, RESTART_SECONDS)
                await asyncio.sleep(RESTART_SECONDS)

    async def run_once(self) -> None:
        """One consumer of the group, delivering until cancelled or a Kafka failure."""
        settings = self._settings
        assert settings.alert_webhook_url is not None
        await self.adopt_position()
        consumer = AIOKafkaConsumer(
            *self._by_topic,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=group_id(settings.worker_app_id),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_interval_ms=POLL_INTERVAL_MS,
            max_poll_records=1,
            **self._client_options,
        )
        await consumer.start()
        try:
            async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS) as client:
                sender = WebhookSender(
                    settings.alert_webhook_url,
                    settings.alert_webhook_secret,
                    client,
                    backoff_cap=settings.webhook_backoff_max_seconds,
                )
                async for record in consumer:
                    await self.send(sender, record)
                    await self.commit(consumer, record)
        finally:
            await consumer.stop()

    async def adopt_position(self) -> None:
        """With no committed offset of its own, the group takes those the worker's group
        committed on the deliveries' topics (where an earlier version's delivery stopped)."""
        settings = self._settings
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers,
                                    **self._client_options)
        await admin.start()
        try:
            if await admin.list_consumer_group_offsets(group_id(settings.worker_app_id)):
                return
            earlier = await admin.list_consumer_group_offsets(settings.worker_app_id)
        finally:
            await admin.close()
        adopted = {tp: meta.offset for tp, meta in earlier.items()
                   if tp.topic in self._by_topic and meta.offset >= 0}
        if not adopted:
            return
        await commit_offsets(settings.kafka_bootstrap_servers, group_id(settings.worker_app_id),
                             adopted, **self._client_options)
        log.info("webhook delivery starts where the worker's group left %d partitions",
                 len(adopted))

    async def send(self, sender: WebhookSender, record: ConsumerRecord) -> None:
        """Deliver one message's event (an undecodable message is logged and skipped)."""
        delivery: Delivery = self._by_topic[record.topic]
        try:
            event = self._decoders[record.topic](record)
        except CodecError as exc:
            log.warning("not delivering message %s[%d]@%d: %s", record.topic, record.partition,
                        record.offset, exc)
            return
        await sender.deliver(event.event_id, delivery.event_type, event_body(event))

    @staticmethod
    async def commit(consumer: AIOKafkaConsumer, record: ConsumerRecord) -> None:
        """The group's position moves past ``record`` (a partition lost meanwhile to a
        rebalance keeps its offset: its new owner sends the event again)."""
        tp = TopicPartition(record.topic, record.partition)
        try:
            await consumer.commit({tp: record.offset + 1})
        except KafkaError as exc:
            log.warning("webhook position of %s[%d] not committed (%s): the event may be "
                        "delivered again", record.topic, record.partition, type(exc).__name__)


def register(context: WorkerContext) -> None:
    """The webhook delivery as a task of the worker, when ``ALERT_WEBHOOK_URL`` is set."""
    if context.settings.alert_webhook_url is None:
        return
    deliveries = WebhookDeliveries(context.settings)

    async def deliver_events() -> None:
        await deliveries.run()

    context.app.task(deliver_events)
