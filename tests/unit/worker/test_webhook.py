"""Webhook deliveries: what a receiver verifies, and what counts as delivered."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import orjson
import pytest
from aiohttp import web

from streams.config import Secret
from streams.worker.webhook import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Outcome,
    WebhookSender,
    backoff,
    event_body,
    outcome_of,
    retry_after,
    sign,
    verify,
)
from tests.unit.worker.test_rules import ACME, CAUSE, evaluate, reconcile, subject


def an_alert():
    findings = evaluate(subject("a@gmail.com"), ACME)
    return reconcile({}, findings, org_id="o", user_id="u", email="a@gmail.com", cause=CAUSE)[0]


def test_signature_is_hmac_sha256_over_timestamp_and_body():
    assert sign("s3cret", 1700000000, b'{"a":1}') == (
        "sha256=" + __import__("hmac").new(b"s3cret", b'1700000000.{"a":1}', "sha256").hexdigest()
    )


def test_verify_checks_signature_body_and_age():
    body = b'{"x":1}'
    good = sign("k", 1000, body)
    assert verify("k", "1000", body, good, now=1100)
    assert not verify("k", "1000", body + b" ", good, now=1100)
    assert not verify("other", "1000", body, good, now=1100)
    assert not verify("k", "1000", body, good, now=2000)
    assert not verify("k", "soon", body, good, now=1000)


def test_request_headers_carry_event_id_timestamp_and_signature():
    alert = an_alert()
    body = event_body(alert)
    assert orjson.loads(body)["event_id"] == alert.event_id
    url = Secret("http://127.0.0.1:1/")
    sender = WebhookSender(url, Secret("k"), client=None, clock=lambda: 1234.5)  # type: ignore[arg-type]
    headers = sender.request_headers(alert.event_id, "shadow_it_alert", body)
    assert headers[EVENT_ID_HEADER] == alert.event_id
    assert headers[EVENT_TYPE_HEADER] == "shadow_it_alert"
    assert headers[TIMESTAMP_HEADER] == "1234"
    assert verify("k", "1234", body, headers[SIGNATURE_HEADER], now=1234)
    unsigned = WebhookSender(url, None, client=None).request_headers(alert.event_id, "t", body)  # type: ignore[arg-type]
    assert SIGNATURE_HEADER not in unsigned and TIMESTAMP_HEADER not in unsigned


def test_only_a_2xx_is_delivered_and_only_a_4xx_but_408_429_is_skipped():
    assert [outcome_of(s) for s in (200, 202, 204, 299)] == [Outcome.DELIVERED] * 4
    assert [outcome_of(s) for s in (301, 308, 408, 429, 500, 503)] == [Outcome.RETRY] * 6
    assert [outcome_of(s) for s in (400, 401, 403, 404, 410, 422)] == [Outcome.SKIPPED] * 6


def test_retry_after_in_seconds_or_as_a_date_bounded():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert retry_after("7", now) == 7.0
    assert retry_after("Tue, 01 Dec 2026 12:00:30 GMT", now) == 30.0
    assert retry_after("Tue, 01 Dec 2026 11:00:00 GMT", now) == 0.0
    assert retry_after("999999", now) == 3600.0
    assert retry_after(None, now) is None and retry_after("soon", now) is None


def test_backoff_doubles_up_to_the_cap():
    assert [backoff(n, 5.0) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert backoff(10_000, 60.0) == 60.0


class Endpoint:
    """A real HTTP endpoint that answers a script of (status, headers), then 204s."""

    def __init__(self, script):
        self.script = list(script)
        self.received: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(request.headers[EVENT_ID_HEADER])
        status, headers = self.script.pop(0) if self.script else (204, {})
        return web.Response(status=status, headers=headers)

    async def __aenter__(self) -> str:
        app = web.Application()
        app.router.add_post("/hook/{secret}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        return f"http://127.0.0.1:{port}/hook/path-credential"

    async def __aexit__(self, *exc) -> None:
        await self.runner.cleanup()


async def test_delivery_waits_out_failures_and_honours_retry_after(caplog):
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    script = [(503, {}), (429, {"Retry-After": "3"}), (500, {}), (408, {}), (502, {})]
    endpoint = Endpoint(script)
    async with endpoint as url, httpx.AsyncClient() as client:
        sender = WebhookSender(Secret(url), None, client, backoff_cap=1.5, sleep=sleep)
        assert await sender.deliver("e1", "shadow_it_alert", b"{}")
    assert waits == [0.5, 3.0, 1.5, 1.5, 1.5]
    assert endpoint.received == ["e1"] * 6
    assert "path-credential" not in caplog.text + repr(sender)


async def test_a_4xx_is_skipped_with_the_event_id_logged(caplog):
    async with Endpoint([(404, {})]) as url, httpx.AsyncClient() as client:
        sender = WebhookSender(Secret(url), None, client)
        assert not await sender.deliver("e-gone", "shadow_it_alert", b"{}")
    assert "e-gone" in caplog.text and "HTTP 404" in caplog.text
    assert "path-credential" not in caplog.text


async def test_an_endpoint_that_is_down_is_tried_again_without_showing_its_url(caplog):
    async with Endpoint([]) as url:
        pass  # the port is closed again: connections are refused
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            raise TimeoutError

    async with httpx.AsyncClient() as client:
        sender = WebhookSender(Secret(url), None, client, sleep=sleep)
        with pytest.raises(TimeoutError):
            await sender.deliver("e2", "shadow_it_alert", b"{}")
    assert waits == [0.5, 1.0, 2.0]
    assert "ConnectError" in caplog.text and "path-credential" not in caplog.text
