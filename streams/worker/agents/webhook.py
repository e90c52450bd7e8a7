"""Alert events → the webhook (when ``ALERT_WEBHOOK_URL`` is set), each event id once."""

from __future__ import annotations

import logging

import httpx
from faust import StreamT

from streams.app import app, settings
from streams.errors import CodecError
from streams.events.records import ShadowItAlert
from streams.worker.batch import decoder
from streams.worker.channels import shadow_it_alerts_topic
from streams.worker.state import member_key
from streams.worker.tables import webhook_deliveries
from streams.worker.webhook import WebhookSender

log = logging.getLogger(__name__)

DELIVERED_KEPT = 64
REQUEST_TIMEOUT_SECONDS = 10.0


async def deliver_alerts(stream: StreamT) -> None:
    """POST each alert event not yet delivered; remember delivered ids per member."""
    decode = decoder(ShadowItAlert)
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS) as client:
        sender = WebhookSender(settings.alert_webhook_url, settings.alert_webhook_secret, client)
        async for event in stream.events():
            try:
                alert = decode(event.message)
            except CodecError as exc:
                log.warning("not delivering an undecodable alert message: %s", exc)
                continue
            key = member_key(alert.org_id, alert.user_id)
            delivered = webhook_deliveries.get(key, {}).get("delivered", [])
            if alert.event_id in delivered:
                continue
            if await sender.deliver(alert):
                webhook_deliveries[key] = {
                    "delivered": [*delivered, alert.event_id][-DELIVERED_KEPT:]
                }


if settings.alert_webhook_url:
    app.agent(shadow_it_alerts_topic, name="deliver_alerts", concurrency=1)(deliver_alerts)
