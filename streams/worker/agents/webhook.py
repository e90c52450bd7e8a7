"""Alert events and triage decisions → the webhook (when ``ALERT_WEBHOOK_URL`` is set), each
event id once; a decision's body has ``action`` and ``decided_by`` where an alert event has
``state`` and ``reason``."""

from __future__ import annotations

import logging

import httpx
from faust import StreamT

from streams.errors import CodecError
from streams.events.records import AlertDecision, AvroRecord, ShadowItAlert
from streams.worker.batch import decoder
from streams.worker.context import WorkerContext
from streams.worker.rows import DeliveriesRow
from streams.worker.state import member_key
from streams.worker.webhook import WebhookSender

log = logging.getLogger(__name__)

DELIVERED_KEPT = 64
REQUEST_TIMEOUT_SECONDS = 10.0


async def deliver_alerts(
    context: WorkerContext, stream: StreamT, record_type: type[AvroRecord] = ShadowItAlert
) -> None:
    """POST each alert event (or triage decision) not yet delivered; remember delivered ids
    per member."""
    decode = decoder(record_type)
    settings = context.settings
    webhook_deliveries = context.tables.webhook_deliveries
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS) as client:
        sender = WebhookSender(settings.alert_webhook_url, settings.alert_webhook_secret, client)
        async for event in stream.events():
            try:
                alert = decode(event.message)
            except CodecError as exc:
                log.warning("not delivering an undecodable alert message: %s", exc)
                continue
            key = member_key(alert.org_id, alert.user_id)
            known = webhook_deliveries.get(key)
            delivered = () if known is None else known.delivered
            if alert.event_id in delivered:
                continue
            if await sender.deliver(alert):
                webhook_deliveries[key] = DeliveriesRow(
                    (*delivered, alert.event_id)[-DELIVERED_KEPT:]
                )


def register(context: WorkerContext) -> None:
    """The delivery agent on the alerts topic, when ``ALERT_WEBHOOK_URL`` is set."""
    if not context.settings.alert_webhook_url:
        return

    async def deliver(stream: StreamT) -> None:
        await deliver_alerts(context, stream)

    context.app.agent(context.channels.shadow_it_alerts, name="deliver_alerts",
                      concurrency=1)(deliver)

    async def deliver_decisions(stream: StreamT) -> None:
        await deliver_alerts(context, stream, AlertDecision)

    context.app.agent(context.channels.alert_decisions, name="deliver_decisions",
                      concurrency=1)(deliver_decisions)
