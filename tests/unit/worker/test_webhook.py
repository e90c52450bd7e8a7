"""Webhook signatures: what a receiver verifies."""

from __future__ import annotations

import orjson

from streams.config import Secret
from streams.worker.webhook import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookSender,
    alert_body,
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
    body = alert_body(alert)
    assert orjson.loads(body)["event_id"] == alert.event_id
    sender = WebhookSender("http://127.0.0.1:1/", Secret("k"), client=None, clock=lambda: 1234.5)  # type: ignore[arg-type]
    headers = sender.request_headers(alert, body)
    assert headers[EVENT_ID_HEADER] == alert.event_id
    assert headers[TIMESTAMP_HEADER] == "1234"
    assert verify("k", "1234", body, headers[SIGNATURE_HEADER], now=1234)
    unsigned = WebhookSender("http://127.0.0.1:1/", None, client=None).request_headers(alert, body)  # type: ignore[arg-type]
    assert SIGNATURE_HEADER not in unsigned and TIMESTAMP_HEADER not in unsigned
