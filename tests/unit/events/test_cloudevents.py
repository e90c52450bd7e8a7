"""CloudEvents binary-mode headers out and back in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from streams.errors import MalformedMessage
from streams.events.cloudevents import (
    CONTENT_TYPE,
    EventRecord,
    format_time,
    headers_for,
    parse_headers,
)
from streams.events.codec import default_codec
from streams.events.records import (
    Activity,
    ActivityActor,
    ConnectorStatus,
    CredentialEvent,
    InviteEvent,
)
from streams.poller.activities import activity_messages
from tests.unit.events.samples import NOW, ORG, SAMPLES

EVENTS = [record for record in SAMPLES if hasattr(record, "event_id")]


@pytest.mark.parametrize("record", EVENTS, ids=lambda r: type(r).__name__)
def test_headers_carry_the_event_attributes(record: EventRecord) -> None:
    headers = headers_for(record)
    names = [name for name, _ in headers]
    assert names == [
        "ce_specversion",
        "ce_id",
        "ce_type",
        "ce_source",
        "ce_time",
        "ce_subject",
        "content-type",
    ]
    assert all(isinstance(value, bytes) for _, value in headers)
    attributes = parse_headers(headers)
    assert attributes.id == record.event_id
    assert attributes.type == record.SCHEMA
    assert attributes.source == f"/claude-connector/orgs/{ORG}"
    assert attributes.time == record.observed_at
    assert attributes.content_type == CONTENT_TYPE == "application/avro"
    subjects = {ConnectorStatus: "connector", CredentialEvent: "key_id", InviteEvent: "invite_id"}
    assert attributes.subject == getattr(record, subjects.get(type(record), "user_id"))


def test_time_is_rfc3339_utc_millis() -> None:
    assert format_time(NOW) == "2026-11-28T09:15:30.123Z"
    assert format_time(NOW.astimezone(timezone(timedelta(hours=2)))) == "2026-11-28T09:15:30.123Z"


def test_org_ids_are_percent_encoded_in_the_source() -> None:
    source = parse_headers(headers_for(replace(EVENTS[0], org_id="a/b"))).source
    assert source == "/claude-connector/orgs/a%2Fb"


def test_time_and_subject_are_optional() -> None:
    attributes = parse_headers(
        [
            ("ce_specversion", b"1.0"),
            ("ce_id", b"x"),
            ("ce_type", b"t"),
            ("ce_source", b"/claude-connector/orgs/a%2Fb"),
        ]
    )
    assert attributes.source == "/claude-connector/orgs/a%2Fb"
    assert attributes.time is None and attributes.subject is None


def test_unrelated_and_empty_headers_are_ignored() -> None:
    headers = [*headers_for(EVENTS[0]), ("traceparent", b"00-abc"), ("ce_extra", None)]
    assert parse_headers(headers).id == EVENTS[0].event_id


@pytest.mark.parametrize("drop", ["ce_specversion", "ce_id", "ce_type", "ce_source"])
def test_missing_required_header(drop: str) -> None:
    headers = [(name, value) for name, value in headers_for(EVENTS[0]) if name != drop]
    with pytest.raises(MalformedMessage, match=drop):
        parse_headers(headers)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ce_specversion", b"0.3"),
        ("ce_time", b"yesterday"),
        ("ce_id", b"\xff\xfe"),
    ],
)
def test_bad_header_values(name: str, value: bytes) -> None:
    headers = [(n, value if n == name else v) for n, v in headers_for(EVENTS[0])]
    with pytest.raises(MalformedMessage):
        parse_headers(headers)


def test_parsed_time_is_aware() -> None:
    parsed = parse_headers(headers_for(EVENTS[0])).time
    assert parsed is not None and parsed.utcoffset() == timedelta(0)
    assert parsed == datetime(2026, 11, 28, 9, 15, 30, 123000, tzinfo=UTC)


def _activity(target: str | None, actor_user: str | None) -> Activity:
    return Activity(
        id="activity_0001",
        created_at=datetime(2026, 11, 1, 12, 30, 15, 123456, tzinfo=UTC),
        type="user_invited",
        org_id="org 1/a",
        organization_id=None,
        organization_uuid=None,
        actor=ActivityActor(type="user_actor", user_id=actor_user),
        target_user_id=target,
        target_email=None,
        details_json="{}",
        connector="acme",
        poll_id="acme:1",
        observed_at=datetime(2026, 11, 1, 13, 0, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("target", "actor_user", "subject"),
    [("user_t", "user_a", "user_t"), (None, "user_a", "user_a"), (None, None, "org 1/a")],
)
def test_an_activity_carries_its_feed_id_time_and_subject(target, actor_user, subject):
    """An activity's id and time are the feed's; its subject the target, else the actor, else
    the organisation."""
    record = _activity(target, actor_user)
    expected = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"activity_0001"),
        ("ce_type", b"com.claudeconnector.events.Activity"),
        ("ce_source", b"/claude-connector/orgs/org%201%2Fa"),
        ("ce_time", b"2026-11-01T12:30:15.123Z"),
        ("ce_subject", subject.encode()),
        ("content-type", b"application/avro"),
    ]
    assert headers_for(record) == expected
    (message,) = activity_messages([record], default_codec(), "t.")
    assert message.headers == expected
