"""Single-object encoding round trips, and bad bytes fail with typed errors only."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.errors import CodecError, MalformedMessage, UnknownSchema
from streams.events.codec import HEADER_SIZE, MAGIC, Codec, decode, default_codec, encode
from streams.events.records import AvroRecord
from streams.events.schemas import load_registry
from tests.unit.events.samples import SAMPLES

MESSAGES = [encode(record) for record in SAMPLES]


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: type(r).__name__)
def test_round_trip(record: AvroRecord) -> None:
    data = encode(record)
    assert decode(data) == record
    assert data[:2] == MAGIC
    assert data[2:HEADER_SIZE] == load_registry().by_name(record.SCHEMA).fingerprint


def test_datum_round_trip_names_the_schema() -> None:
    codec = default_codec()
    record = SAMPLES[0]
    name, datum = codec.decode_datum(codec.encode_datum(record.SCHEMA, record.to_avro()))
    assert name == record.SCHEMA
    assert type(record).from_avro(datum) == record


def test_a_fresh_codec_decodes_what_another_encoded() -> None:
    codec = Codec(load_registry())
    assert [codec.decode(data) for data in MESSAGES] == list(SAMPLES)


def test_encoding_an_unknown_schema_is_refused() -> None:
    with pytest.raises(UnknownSchema):
        default_codec().encode_datum("com.example.Nope", {})


@pytest.mark.parametrize("data", [
    b"", b"\xc3", b"\xc3\x01\x00", b"\x00" * 40, b"\xc3\x02" + b"\x00" * 20,
    b"\x00\x00\x00\x00\x01{}", b'{"event_id": "x"}',
])
def test_not_single_object_encoding(data: bytes) -> None:
    with pytest.raises(MalformedMessage):
        decode(data)


def test_unknown_fingerprint() -> None:
    with pytest.raises(UnknownSchema, match="fingerprint"):
        decode(MAGIC + b"\x01\x02\x03\x04\x05\x06\x07\x08" + MESSAGES[0][HEADER_SIZE:])


@pytest.mark.parametrize("data", MESSAGES[:6], ids=range(6))
def test_every_truncation_is_malformed(data: bytes) -> None:
    for end in range(HEADER_SIZE, len(data)):
        with pytest.raises(MalformedMessage):
            decode(data[:end])


def test_trailing_bytes_are_malformed() -> None:
    with pytest.raises(MalformedMessage, match="trailing"):
        decode(MESSAGES[0] + b"\x00")


def test_an_undecodable_enum_index_is_malformed() -> None:
    header = MESSAGES[0][:HEADER_SIZE]
    # event_id "" then op index 99 (zig-zag 198 = 0xc6 0x01): no such symbol.
    with pytest.raises(MalformedMessage):
        decode(header + b"\x00\xc6\x01" + b"\x00" * 30)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_codec_errors(data: bytes) -> None:
    with contextlib.suppress(CodecError):
        decode(data)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(MESSAGES), st.binary(max_size=200))
def test_known_header_with_random_body_raises_only_malformed(message: bytes, body: bytes) -> None:
    with contextlib.suppress(MalformedMessage):
        decode(message[:HEADER_SIZE] + body)
