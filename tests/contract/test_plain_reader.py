"""A plain Avro reader decodes every message type from the ``.avsc`` files alone.

Only our encoder is used (to produce messages). Reading uses nothing of ours: the ``.avsc``
files, the 10-byte single-object header (magic + CRC-64-AVRO fingerprint) and either fastavro
or the reference ``avro`` package.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import avro.io
import avro.schema
import pytest
from fastavro import parse_schema, schemaless_reader
from fastavro.schema import fingerprint, to_parsing_canonical_form

from streams.events.codec import encode
from streams.events.records import AvroRecord
from tests.unit.events.samples import SAMPLES

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def _by_fingerprint() -> dict[bytes, dict[str, Any]]:
    files = {}
    for path in SCHEMAS.glob("*.avsc"):
        definition = json.loads(path.read_text())
        key = bytes.fromhex(fingerprint(to_parsing_canonical_form(definition), "CRC-64-AVRO"))
        files[key] = definition
    return files


FILES = _by_fingerprint()


def test_every_schema_file_has_a_sample_message() -> None:
    covered = {encode(record)[2:10] for record in SAMPLES}
    assert covered == set(FILES)


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: type(r).__name__)
def test_fastavro_reads_it(record: AvroRecord) -> None:
    message = encode(record)
    assert message[:2] == b"\xc3\x01"
    definition = FILES[message[2:10]]
    body = io.BytesIO(message[10:])
    datum = schemaless_reader(body, parse_schema(definition), None)
    assert body.read() == b""
    assert datum == record.to_avro()


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: type(r).__name__)
def test_the_reference_avro_package_reads_it(record: AvroRecord) -> None:
    message = encode(record)
    schema = avro.schema.parse(json.dumps(FILES[message[2:10]]))
    datum = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(message[10:])))
    assert datum == record.to_avro()
