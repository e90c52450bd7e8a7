"""Signed, at-least-once delivery of events to an HTTP endpoint (httpx).

Each event is POSTed as JSON (the record's fields; times in RFC 3339) with:

================================= ==================================================
``X-Claude-Connector-Event-Id``   the event's ``event_id`` (receivers drop repeats)
``X-Claude-Connector-Event-Type`` what the body is (``shadow_it_alert``)
``X-Claude-Connector-Timestamp``  Unix seconds when the request was signed
``X-Claude-Connector-Signature``  ``sha256=`` + hex HMAC-SHA256(secret, ``{timestamp}.{body}``)
================================= ==================================================

The signature headers are sent only when ``ALERT_WEBHOOK_SECRET`` is set. A 2xx is
delivered; 408, 429, 5xx, redirects (not followed) and network errors are tried again, after
the ``Retry-After`` the endpoint asked for or a doubling backoff capped at
``WEBHOOK_BACKOFF_MAX_SECONDS``, for as long as it takes; any other 4xx is logged with the
event id and skipped. ``agents.webhook`` reads the events from their topics and moves its
committed position past an event only once it is delivered or skipped. The URL is a
``Secret``: it never shows in a log line, a repr or an error.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import orjson

from streams.client import transport
from streams.config import Secret
from streams.events.records import AvroRecord
from streams.events.topics import ALERT_DECISIONS, SHADOW_IT_ALERTS, TopicSpec
from streams.worker.metrics import METRICS

log = logging.getLogger(__name__)

EVENT_ID_HEADER = "X-Claude-Connector-Event-Id"
EVENT_TYPE_HEADER = "X-Claude-Connector-Event-Type"
TIMESTAMP_HEADER = "X-Claude-Connector-Timestamp"
SIGNATURE_HEADER = "X-Claude-Connector-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300
FIRST_BACKOFF_SECONDS = 0.5
RETRY_AFTER_MAX_SECONDS = 3600.0
"""The longest ``Retry-After`` honoured (a larger one waits this long)."""
RETRIED_STATUSES = frozenset({408, 429})


@dataclass(frozen=True, slots=True)
class Delivery:
    """One kind of event the webhook receives: its topic and the name of its event type."""

    topic: TopicSpec
    event_type: str


DELIVERIES = (
    Delivery(SHADOW_IT_ALERTS, "shadow_it_alert"),
    Delivery(ALERT_DECISIONS, "alert_decision"),
)
"""Every topic whose events go to the webhook."""


class Outcome(enum.Enum):
    """What one answer (or failure) means for an event."""

    DELIVERED = "delivered"
    RETRY = "retried"
    SKIPPED = "refused"


def outcome_of(status: int) -> Outcome:
    """2xx delivered; a 4xx other than 408 and 429 skipped; anything else (5xx, 408, 429, a
    redirect, which is not followed) tried again."""
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if 400 <= status < 500 and status not in RETRIED_STATUSES:
        return Outcome.SKIPPED
    return Outcome.RETRY


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delay seconds or an HTTP date), read as
    the API client reads it, at most ``RETRY_AFTER_MAX_SECONDS``."""
    wait = None if value is None else transport.retry_after({"retry-after": value}, now)
    return None if wait is None else min(wait, RETRY_AFTER_MAX_SECONDS)


def backoff(attempt: int, cap: float) -> float:
    """The wait after failed attempt number ``attempt`` (1, 2, ...): doubling, at most ``cap``."""
    return min(FIRST_BACKOFF_SECONDS * 2 ** min(attempt - 1, 32), cap)


def event_body(record: AvroRecord) -> bytes:
    """The JSON body for one event (its Avro fields, keys sorted)."""
    return orjson.dumps(record.to_avro(), option=orjson.OPT_SORT_KEYS)


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
    """POSTs events to one URL, signed, until each is delivered or refused."""

    def __init__(
        self,
        url: Secret,
        secret: Secret | None,
        client: httpx.AsyncClient,
        *,
        backoff_cap: float = 60.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._url = url
        self._secret = secret
        self._client = client
        self.backoff_cap = backoff_cap
        self._clock = clock
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"WebhookSender(url={self._url!r}, backoff_cap={self.backoff_cap})"

    def request_headers(self, event_id: str, event_type: str, body: bytes) -> dict[str, str]:
        """The headers of one delivery."""
        headers = {
            "Content-Type": "application/json",
            EVENT_ID_HEADER: event_id,
            EVENT_TYPE_HEADER: event_type,
        }
        if self._secret:
            timestamp = int(self._clock())
            headers[TIMESTAMP_HEADER] = str(timestamp)
            headers[SIGNATURE_HEADER] = sign(self._secret.reveal(), timestamp, body)
        return headers

    async def attempt(self, event_id: str, event_type: str, body: bytes
                      ) -> tuple[Outcome, float | None, str]:
        """One POST: its outcome, the ``Retry-After`` asked for, and what happened."""
        try:
            response = await self._client.post(
                self._url.reveal(), content=body,
                headers=self.request_headers(event_id, event_type, body),
            )
        except httpx.HTTPError as exc:  # its text may hold the URL: only its type is shown
            return Outcome.RETRY, None, type(exc).__name__
        wait = retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
        return outcome_of(response.status_code), wait, f"HTTP {response.status_code}"

    async def deliver(self, event_id: str, event_type: str, body: bytes) -> bool:
        """True once the endpoint accepted the event, False when it refused it (a 4xx other
        than 408/429); tries again, backing off, as long as neither happened."""
        failures = 0
        while True:
            outcome, wait, what = await self.attempt(event_id, event_type, body)
            METRICS.inc("claude_worker_webhook_deliveries_total", outcome=outcome.value)
            if outcome is Outcome.DELIVERED:
                if failures:
                    log.info("webhook took %s %s after %d failed attempts", event_type,
                             event_id, failures)
                return True
            if outcome is Outcome.SKIPPED:
                log.warning("webhook refused %s %s (%s): skipped", event_type, event_id, what)
                return False
            failures += 1
            delay = wait if wait is not None else backoff(failures, self.backoff_cap)
            if failures == 1 or failures % 10 == 0:
                log.warning("webhook did not take %s %s (%s, attempt %d): trying again in %.1fs",
                            event_type, event_id, what, failures, delay)
            await self._sleep(delay)
