"""Avro single-object encoding: ``C3 01`` + 8-byte CRC-64-AVRO fingerprint (little-endian) + body.

Any Avro reader holding ``schemas/`` can decode our messages without a registry. fastavro's
``schemaless_writer`` / ``schemaless_reader`` do the body on the hot path; everything per
schema (parsed form, header bytes, writer → reader resolution) is looked up once and cached.

Decoding never raises anything but ``MalformedMessage`` (not single-object encoded, truncated,
trailing bytes, a body that does not parse) and ``UnknownSchema`` (the fingerprint names no
schema we hold): callers route both to the dead-letter topic.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from io import BytesIO
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from streams.errors import MalformedMessage, UnknownSchema
from streams.events.records import RECORD_TYPES, AvroRecord
from streams.events.schemas import SchemaRegistry, load_registry

MAGIC = b"\xc3\x01"
HEADER_SIZE = len(MAGIC) + 8


class Codec:
    """Encode records to single-object-encoded bytes and back, for one schema registry."""

    def __init__(self, registry: SchemaRegistry) -> None:
        self.registry = registry
        self._writers: dict[str, tuple[bytes, Any]] = {
            schema.name: (MAGIC + schema.fingerprint, schema.parsed) for schema in registry
        }
        self._readers: dict[bytes, tuple[str, Any, Any]] = {}

    def encode(self, record: AvroRecord) -> bytes:
        """A record as single-object-encoded bytes."""
        return self.encode_datum(record.SCHEMA, record.to_avro())

    def decode(self, data: bytes) -> AvroRecord:
        """The record in ``data``; raises ``MalformedMessage`` or ``UnknownSchema``."""
        name, datum = self.decode_datum(data)
        try:
            record_type = RECORD_TYPES[name]
        except KeyError:
            raise UnknownSchema(f"schema {name} has no record class") from None
        return record_type.from_avro(datum)

    def encode_datum(self, name: str, datum: Mapping[str, Any]) -> bytes:
        """``datum`` (the dict form of a record) written with the current schema ``name``."""
        try:
            header, parsed = self._writers[name]
        except KeyError:
            raise UnknownSchema(f"no schema named {name} in {self.registry.directory}") from None
        buffer = BytesIO()
        buffer.write(header)
        schemaless_writer(buffer, parsed, datum)
        return buffer.getvalue()

    def decode_datum(self, data: bytes) -> tuple[str, dict[str, Any]]:
        """(full schema name, dict) for ``data``, resolved into the current schema of that name."""
        if len(data) < HEADER_SIZE or data[:2] != MAGIC:
            raise MalformedMessage(
                f"not Avro single-object encoding ({len(data)} bytes, "
                f"starts {bytes(data[:2]).hex()})"
            )
        fingerprint = bytes(data[2:HEADER_SIZE])
        reader = self._readers.get(fingerprint) or self._reader(fingerprint)
        name, writer_schema, reader_schema = reader
        buffer = BytesIO(data)
        buffer.seek(HEADER_SIZE)
        try:
            datum = schemaless_reader(buffer, writer_schema, reader_schema)
        except Exception as exc:  # fastavro raises many types on bad bytes; this is the boundary.
            raise MalformedMessage(
                f"{name}: body does not parse: {type(exc).__name__}: {exc}"
            ) from exc
        if buffer.tell() != len(data):
            extra = len(data) - buffer.tell()
            raise MalformedMessage(f"{name}: {extra} trailing bytes after the body")
        return name, datum

    def _reader(self, fingerprint: bytes) -> tuple[str, Any, Any]:
        writer = self.registry.by_fingerprint(fingerprint)
        reader = self.registry.reader_for(writer)
        entry = (reader.name, writer.parsed, None if reader is writer else reader.parsed)
        self._readers[fingerprint] = entry
        return entry


@cache
def default_codec() -> Codec:
    """The codec over ``load_registry()`` (the repository's ``schemas/``)."""
    return Codec(load_registry())


def encode(record: AvroRecord) -> bytes:
    """``default_codec().encode(record)``."""
    return default_codec().encode(record)


def decode(data: bytes) -> AvroRecord:
    """``default_codec().decode(data)``."""
    return default_codec().decode(data)
