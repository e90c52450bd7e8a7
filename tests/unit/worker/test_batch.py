"""The batch shell: the write buffer, decoding under the right key, dead letters."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from streams.errors import MalformedMessage
from streams.events.codec import encode
from streams.events.records import UsageDelta, UserEvent, UserOp
from streams.worker.batch import (
    PRODUCE_REQUEST_BYTES,
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
    fits = b"x" * 900_000
    assert dead_letter_send(Message(b"k", fits), MalformedMessage("bad"), "dlq").value == fits
    huge = b"y" * (10 * PRODUCE_REQUEST_BYTES)
    cut = dead_letter_send(Message(b"k", huge), MalformedMessage("too big"), "dlq")
    reason = dict(cut.headers)["dlq.reason"].decode()
    assert reason.startswith("too big") and f"value of {len(huge)} bytes cut to" in reason
    size = len(cut.value) + len(cut.key) + sum(len(n) + len(v) for n, v in cut.headers)
    assert 900_000 < size < PRODUCE_REQUEST_BYTES and huge.startswith(cut.value)
