"""The batch shell: the write buffer, decoding under the right key, dead letters."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from streams.errors import MalformedMessage
from streams.events.codec import encode
from streams.events.records import UsageDelta, UserEvent, UserOp
from streams.worker.batch import (
    DEAD_LETTER_MAX_VALUE,
    Overlay,
    Source,
    _Cursor,
    dead_letter_send,
    decoder,
    member_key_of,
)
from tests.fixtures.worker import ORG, user_event


def test_overlay_buffers_writes_and_tags_each_with_its_message():
    table = {"a": {"n": 1}, "b": {"n": 2}}
    cursor = _Cursor()
    overlay = Overlay(table, cursor)
    first, second = Source("message 1"), Source("message 2")
    cursor.event = first
    overlay["a"] = {"n": 10}
    overlay["c"] = {"n": 3}
    cursor.event = second
    overlay["a"] = {"n": 11}
    del overlay["b"]
    assert overlay["a"] == {"n": 11} and "b" not in overlay and sorted(overlay) == ["a", "c"]
    assert overlay.get("b") is None and overlay.get("b", 0) == 0 and overlay.get("c") == {"n": 3}
    assert overlay.get("z", "default") == "default"
    assert len(overlay) == 2
    assert table == {"a": {"n": 1}, "b": {"n": 2}}, "the table itself is untouched"
    with pytest.raises(KeyError):
        del overlay["missing"]
    with pytest.raises(KeyError):
        overlay["b"]
    assert overlay.changes() == [("a", {"n": 11}, second), ("c", {"n": 3}, first),
                                 ("b", None, second)]


@dataclass
class Message:
    """The fields of a consumed message that the batch shell reads."""

    key: bytes | None
    value: bytes | None
    topic: str = "t.user-events"
    partition: int = 0
    offset: int = 7
    headers: tuple = ()


def test_a_per_member_record_must_be_under_its_own_key():
    decode = decoder(UserEvent, key=member_key_of)
    record = user_event(UserOp.ADDED, "user_k", "k@acme.com")
    assert decode(Message(f"{ORG}:user_k".encode(), encode(record))) == record
    with pytest.raises(MalformedMessage, match="under another key"):
        decode(Message(f"{ORG}:user_other".encode(), encode(record)))
    with pytest.raises(MalformedMessage, match="expected"):
        decoder(UsageDelta)(Message(f"{ORG}:user_k".encode(), encode(record)))


def test_a_dead_letter_keeps_what_a_produce_request_can_carry():
    small = dead_letter_send(Message(b"k", b"\x00bad"), MalformedMessage("bad"), "dlq")
    assert small.value == b"\x00bad" and small.key == b"k"
    big = dead_letter_send(Message(b"k", b"x" * (2 * DEAD_LETTER_MAX_VALUE)),
                           MalformedMessage("too big"), "dlq")
    assert big.value == b"x" * DEAD_LETTER_MAX_VALUE
    reason = dict(big.headers)["dlq.reason"].decode()
    assert reason.startswith("too big") and f"value of {2 * DEAD_LETTER_MAX_VALUE} bytes" in reason
