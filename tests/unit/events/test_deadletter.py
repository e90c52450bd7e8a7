"""Dead letters keep the original headers and add the reason."""

from __future__ import annotations

from streams.errors import MalformedMessage, UnknownSchema
from streams.events.deadletter import dead_letter_headers, read_dead_letter
from tests.unit.events.samples import NOW


def test_reason_and_origin_in_headers() -> None:
    original = [("ce_id", b"evt-1"), ("content-type", b"application/avro")]
    headers = dead_letter_headers(original, MalformedMessage("body does not parse:\n  EOFError"),
                                  topic="claude.user-events", partition=3, offset=1234, now=NOW)
    assert headers[:2] == original
    info = read_dead_letter(headers)
    assert info.error == "MalformedMessage"
    assert info.reason == "body does not parse: EOFError"
    assert (info.topic, info.partition, info.offset) == ("claude.user-events", 3, 1234)
    assert info.time == "2026-11-28T09:15:30.123Z"


def test_dead_lettering_twice_replaces_the_old_reason() -> None:
    first = dead_letter_headers([], MalformedMessage("first"), topic="t", partition=0, offset=1,
                                now=NOW)
    second = dead_letter_headers(first, UnknownSchema("second"), topic="t2", partition=1,
                                 offset=2, now=NOW)
    assert sum(1 for name, _ in second if name == "dlq.reason") == 1
    info = read_dead_letter(second)
    assert (info.error, info.reason, info.topic) == ("UnknownSchema", "second", "t2")


def test_an_empty_message_still_names_the_error() -> None:
    headers = dead_letter_headers([], UnknownSchema(), topic="t", partition=0, offset=0, now=NOW)
    assert read_dead_letter(headers).reason == "UnknownSchema"
