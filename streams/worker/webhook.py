"""Signed delivery of alert events to an HTTP endpoint (httpx), with bounded retries.

Each alert event is POSTed as JSON (the record's fields; times in RFC 3339) with:

================================ ==================================================
``X-Claude-Connector-Event-Id``  the alert event's ``event_id`` (receivers drop repeats)
``X-Claude-Connector-Timestamp`` Unix seconds when the request was signed
``X-Claude-Connector-Signature`` ``sha256=`` + hex HMAC-SHA256(secret, ``{timestamp}.{body}``)
================================ ==================================================

The signature headers are sent only when ``ALERT_WEBHOOK_SECRET`` is set. 2xx is delivered;
429, 5xx and network errors are retried ``attempts`` times with doubling backoff; other 4xx
are not retried. The agent in ``agents.webhook`` skips events it has delivered before.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable

import httpx
import orjson

from streams.config import Secret
from streams.events.records import ShadowItAlert
from streams.worker.metrics import METRICS

log = logging.getLogger(__name__)

EVENT_ID_HEADER = "X-Claude-Connector-Event-Id"
TIMESTAMP_HEADER = "X-Claude-Connector-Timestamp"
SIGNATURE_HEADER = "X-Claude-Connector-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300


def alert_body(alert: ShadowItAlert) -> bytes:
    """The JSON body for one alert event."""
    return orjson.dumps(alert.to_avro(), option=orjson.OPT_SORT_KEYS)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``{timestamp}.{body}`` with ``secret``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float,
    tolerance: float = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """True when ``signature`` is valid for ``body`` and ``timestamp`` is recent (for receivers)."""
    try:
        moment = int(timestamp)
    except ValueError:
        return False
    if abs(now - moment) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, moment, body), signature)


class WebhookSender:
    """POSTs alert events to one URL with signature, timestamp and bounded retries."""

    def __init__(
        self,
        url: str,
        secret: Secret | None,
        client: httpx.AsyncClient,
        *,
        attempts: int = 4,
        backoff: float = 0.5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self._secret = secret
        self._client = client
        self.attempts = attempts
        self.backoff = backoff
        self._clock = clock

    def request_headers(self, alert: ShadowItAlert, body: bytes) -> dict[str, str]:
        """The headers of one delivery."""
        headers = {"Content-Type": "application/json", EVENT_ID_HEADER: alert.event_id}
        if self._secret:
            timestamp = int(self._clock())
            headers[TIMESTAMP_HEADER] = str(timestamp)
            headers[SIGNATURE_HEADER] = sign(self._secret.reveal(), timestamp, body)
        return headers

    async def deliver(self, alert: ShadowItAlert) -> bool:
        """True once the endpoint accepted the event; False when it refused or retries ran out."""
        body = alert_body(alert)
        for attempt in range(1, self.attempts + 1):
            try:
                response = await self._client.post(
                    self.url, content=body, headers=self.request_headers(alert, body)
                )
            except httpx.HTTPError as exc:
                outcome = f"{type(exc).__name__}"
            else:
                if response.is_success:
                    METRICS.inc("claude_worker_webhook_deliveries_total", outcome="delivered")
                    return True
                if response.status_code != 429 and response.status_code < 500:
                    log.warning("webhook refused alert event %s: HTTP %d", alert.event_id,
                                response.status_code)
                    METRICS.inc("claude_worker_webhook_deliveries_total", outcome="refused")
                    return False
                outcome = f"HTTP {response.status_code}"
            if attempt < self.attempts:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
        log.warning("webhook gave up on alert event %s after %d attempts (%s)",
                    alert.event_id, self.attempts, outcome)
        METRICS.inc("claude_worker_webhook_deliveries_total", outcome="failed")
        return False
