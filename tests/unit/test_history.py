"""History's pure parts: topic names, times, decoding a message into a JSON line."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson
import pytest
from aiokafka import ConsumerRecord

from streams.events.cloudevents import headers_for
from streams.events.codec import default_codec
from streams.events.records import UserOp
from streams.history import (
    decode_record,
    parse_start,
    parse_time,
    rebuild_environment,
    resolve_topic,
)
from tests.fixtures.worker import user_event


def record(value: bytes | None, headers: list[tuple[str, bytes]] | None = None) -> ConsumerRecord:
    return ConsumerRecord(
        topic="p.user-events", partition=1, offset=42, timestamp=1_764_000_000_000,
        timestamp_type=0, key=b"org_test:user_a", value=value, checksum=None,
        serialized_key_size=0, serialized_value_size=0, headers=headers or [],
    )


def test_topic_suffixes_get_the_prefix_and_other_names_stay():
    assert resolve_topic("user-events", "claude.") == "claude.user-events"
    assert resolve_topic("dead-letter", "acme.") == "acme.dead-letter"
    assert resolve_topic("claude.user-events", "claude.") == "claude.user-events"
    assert resolve_topic("my-app-users-changelog", "claude.") == "my-app-users-changelog"


def test_times_are_utc_and_offsets_are_numbers():
    assert parse_time("2026-11-20") == datetime(2026, 11, 20, tzinfo=UTC)
    assert parse_time("2026-11-20T12:30:00Z") == datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
    assert parse_time("2026-11-20T13:30:00+01:00") == datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
    assert parse_start("120") == 120
    assert parse_start("2026-11-20") == datetime(2026, 11, 20, tzinfo=UTC)
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_start("yesterday")


def test_an_event_becomes_one_json_line_with_its_type_and_event_time():
    event = user_event(UserOp.ADDED, "user_a", "a@acme.com")
    entry = decode_record(record(default_codec().encode(event), headers=headers_for(event)),
                          default_codec())
    assert entry.event_time == event.observed_at
    assert entry.org_id == "org_test"
    line = orjson.loads(entry.to_json())
    assert line["type"] == "com.claudeconnector.events.UserEvent"
    assert line["value"]["after"]["email"] == "a@acme.com"
    assert line["value"]["op"] == "ADDED"
    assert line["value"]["observed_at"] == "2026-11-01T12:01:00Z"
    assert line["headers"]["ce_id"] == event.event_id
    assert (line["partition"], line["offset"], line["key"]) == (1, 42, "org_test:user_a")
    assert "error" not in line


def test_undecodable_values_keep_their_bytes_and_tombstones_are_null():
    entry = decode_record(record(b"\x00not avro"), default_codec())
    line = orjson.loads(entry.to_json())
    assert line["error"].startswith("MalformedMessage")
    assert base64.b64decode(line["value_base64"]) == b"\x00not avro"
    assert entry.event_time == datetime.fromtimestamp(1_764_000_000, UTC)
    tombstone = orjson.loads(decode_record(record(None), default_codec()).to_json())
    assert tombstone["value"] is None and "error" not in tombstone


def test_a_rebuild_runs_under_the_new_app_id_without_webhook():
    env = rebuild_environment({"WORKER_APP_ID": "old", "ALERT_WEBHOOK_URL": "https://x"}, "new")
    assert env == {"WORKER_APP_ID": "new", "ALERT_WEBHOOK_URL": ""}
